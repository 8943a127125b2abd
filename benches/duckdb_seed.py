"""The seed's Auth_Username_Enumeration aggregation in DuckDB, for
scripts/bench-compare: explicit 6-column read_json (timestamps as VARCHAR),
result codes of the seed, a one-hour lookback from the latest event, grouped
by source, app and result description, 15+ distinct accounts.

usage: python duckdb_seed.py FILE.ndjson [explicit|auto] [THREADS]
Prints the number of result rows and the in-process query seconds.
"""

import sys
import time

import duckdb

path = sys.argv[1]
mode = sys.argv[2] if len(sys.argv) > 2 else "explicit"
threads = int(sys.argv[3]) if len(sys.argv) > 3 else 0

COLUMNS = (
    "{TimeGenerated: 'VARCHAR', ResultType: 'VARCHAR', UserPrincipalName: 'VARCHAR', "
    "IPAddress: 'VARCHAR', AppDisplayName: 'VARCHAR', ResultDescription: 'VARCHAR'}"
)

if mode == "explicit":
    # Timestamps stay text: ISO 8601 text of one format sorts like time.
    source = f"read_json('{path}', format='newline_delimited', columns={COLUMNS})"
    cutoff = (
        "strftime(CAST(substr(max(TimeGenerated), 1, 19) AS TIMESTAMP) - INTERVAL 1 HOUR,"
        " '%Y-%m-%dT%H:%M:%S')"
    )
else:
    # Types inferred by DuckDB (TimeGenerated becomes a TIMESTAMP).
    source = f"read_ndjson_auto('{path}')"
    cutoff = "max(TimeGenerated) - INTERVAL 1 HOUR"

SQL = f"""
WITH t AS MATERIALIZED (
    SELECT TimeGenerated, CAST(ResultType AS VARCHAR) AS ResultType,
           UserPrincipalName, IPAddress, AppDisplayName, ResultDescription
    FROM {source}
),
cut AS (SELECT {cutoff} AS c FROM t)
SELECT IPAddress, AppDisplayName, ResultDescription,
       count(DISTINCT UserPrincipalName) AS UniqueUsernames,
       count(*) AS TotalFailures,
       count(*) FILTER (WHERE ResultType = '50034') AS UsernameNotFoundCount,
       min(TimeGenerated) AS FirstSeen, max(TimeGenerated) AS LastSeen,
       list(DISTINCT UserPrincipalName)[1:25] AS UserList
FROM t, cut
WHERE ResultType IN ('50034', '50053', '50055', '50057', '50072', '50076')
  AND TimeGenerated > cut.c
GROUP BY ALL
HAVING count(DISTINCT UserPrincipalName) >= 15
ORDER BY UniqueUsernames DESC
"""

con = duckdb.connect()
if threads > 0:
    con.execute(f"SET threads = {threads}")
start = time.perf_counter()
rows = con.execute(SQL).fetchall()
elapsed = time.perf_counter() - start
print(f"rows={len(rows)} query_seconds={elapsed:.3f}")
for r in rows:
    print(f"  {r[0]} | {r[1]} | {str(r[2])[:40]} | users={r[3]} failures={r[4]}")
