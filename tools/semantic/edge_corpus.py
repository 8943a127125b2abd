#!/usr/bin/env python3
"""Hand-made sign-in rows on the edges of the rule semantics, for the
semantic check (Log Analytics NDJSON, SigninLogs and
AADNonInteractiveUserSignInLogs). Each source address is one case:

seed profile (evaluated at NOW = 2024-06-01T12:00:00Z, lookback 1 h)
  192.0.2.1   an event at exactly NOW - 1h (out: strict), one 100 ns later
              and one after NOW (in); Alice@ and alice@ are two names
              (case-sensitive dcount)
  192.0.2.2   first 11:00:59.9, last 11:01:00.0: one minute boundary
  192.0.2.3   21 names over 8 minute boundaries: rate 2.625 -> 2.63
              (half away from zero)
  192.0.2.4   20 names, 35 not-found rows: High through the row count
  192.0.2.5   50 names: High; 192.0.2.7: 100 names: Critical
  192.0.2.6   14 names and a row without a name (KQL: "" is a name) and
              rows without an application or description (grouped as "")
  192.0.2.8   4 names (Low once the threshold is 3)
recommended profile (sliding 1 h windows)
  198.51.100.1  15th name exactly 1 h after the 1st: the window (t-1h, t]
                holds 14 (silent); .11: 100 ns earlier, 15 (fires)
  198.51.100.2  two bursts of 15 names each at one instant, exactly 1 h
                apart: two episodes; .12: 30 min apart: one episode
  198.51.100.3  every row twice (both tables, one with the name in other
                case and padded), a later copy, rows without request id
  198.51.100.4  MFA interrupts completed by a success at exactly +5 min
                (dropped) and at +5 min + 1 s (kept); a success before the
                interrupt does not complete it
  198.51.100.5  spray of 12 existing names; successes for a sprayed name
                within 1 h after the episode (confirmed), exactly at
                last + 1 h (confirmed), later (not), for a name never
                probed (not), before the name's first probe (not); a
                50076 probe row confirms by itself
  198.51.100.6  PKeyAuth user agent in lower case (excluded, in~)
  (no address)  rows without IPAddress (excluded by isnotempty)

usage: edge_corpus.py OUTDIR
"""

import json
import sys
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

NS = 1
US = 1_000
S = 1_000_000_000
MIN = 60 * S
H = 60 * MIN
BASE = int(datetime(2024, 6, 1, tzinfo=timezone.utc).timestamp()) * S
NOW = BASE + 12 * H
DESC = {
    "0": "",
    "50034": "The user account does not exist in the directory.",
    "50126": "Error validating credentials due to invalid username or password.",
    "50053": "Account is locked.",
    "50076": "Due to a configuration change made by your administrator, you must use multi-factor authentication.",
}
rows = {"SigninLogs": [], "AADNonInteractiveUserSignInLogs": []}
_n = [0]


def ts(ns):
    # Log Analytics writes 7 fraction digits (100 ns).
    assert ns % 100 == 0
    secs, rem = divmod(ns, S)
    t = datetime.fromtimestamp(secs, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{t}.{rem // 100:07d}Z"


def row(t, user, ip, code, table="SigninLogs", rid="auto", app="Azure Portal", desc="auto",
        ua="Mozilla/5.0 (X11; Linux x86_64)"):
    _n[0] += 1
    if rid == "auto":
        rid = str(uuid.UUID(int=_n[0]))
    r = {
        "TenantId": "00000000-0000-0000-0000-00000000beef",
        "TimeGenerated": ts(t),
        "OperationName": "Sign-in activity",
        "Category": "SignInLogs" if table == "SigninLogs" else "NonInteractiveUserSignInLogs",
        "ResultType": code,
        "ResultDescription": DESC.get(code, "") if desc == "auto" else desc,
        "CorrelationId": str(uuid.UUID(int=10**6 + _n[0])),
        "AppId": "c44b4083-3bb0-49c1-b47d-974e53cbdf3c",
        "ClientAppUsed": "Browser",
        "IsInteractive": table == "SigninLogs",
        "UserAgent": ua,
        "Type": table,
    }
    if user is not None:
        r["UserPrincipalName"] = user
    if ip is not None:
        r["IPAddress"] = ip
    if app is not None:
        r["AppDisplayName"] = app
    if desc is None:
        del r["ResultDescription"]
    if rid is not None:
        r["Id"] = rid
        r["OriginalRequestId"] = rid
    rows[table].append(r)


def names(prefix, n, start=0):
    return [f"{prefix}{i:03d}@contoso.com" for i in range(start, start + n)]


def seed_cases():
    ip = "192.0.2.1"
    row(NOW - H, "edge.out@contoso.com", ip, "50034")
    row(NOW - H + 100, "edge.in@contoso.com", ip, "50034")
    row(NOW + 5 * MIN, "after.now@contoso.com", ip, "50034")
    row(NOW - 30 * MIN, "Alice@contoso.com", ip, "50034")
    row(NOW - 29 * MIN, "alice@contoso.com", ip, "50034")
    for i, u in enumerate(names("a", 11)):
        row(NOW - 20 * MIN + i * S, u, ip, "50034")
    ip = "192.0.2.2"
    for i, u in enumerate(names("b", 15)):
        row(NOW - H + 59 * S + 900 * 1_000_000 if i == 0 else NOW - H + MIN, u, ip, "50053")
    ip = "192.0.2.3"
    for i, u in enumerate(names("c", 21)):
        row(NOW - 50 * MIN + (i * 8 * MIN + 30 * S) // 20 if i else NOW - 50 * MIN, u, ip, "50034")
    ip = "192.0.2.4"
    us = names("d", 20)
    for i in range(35):
        row(NOW - 40 * MIN + i * S, us[i % 20], ip, "50034")
    ip = "192.0.2.5"
    for i, u in enumerate(names("e", 50)):
        row(NOW - 40 * MIN + i * S, u, ip, "50057")
    ip = "192.0.2.7"
    for i, u in enumerate(names("g", 100)):
        row(NOW - 40 * MIN + i * S, u, ip, "50034")
    ip = "192.0.2.6"
    for i, u in enumerate(names("f", 14)):
        row(NOW - 10 * MIN + i * S, u, ip, "50034")
    row(NOW - 5 * MIN, None, ip, "50034")
    for i, u in enumerate(names("f", 4)):
        row(NOW - 4 * MIN + i * S, u, ip, "50034", app=None, desc=None)
    ip = "192.0.2.8"
    for i, u in enumerate(names("h", 4)):
        row(NOW - 10 * MIN + i * S, u, ip, "50034")


def recommended_cases():
    t0 = BASE + 2 * H
    us = names("r1_", 15)
    for ip, last in (("198.51.100.1", t0 + H), ("198.51.100.11", t0 + H - 100)):
        row(t0, us[0], ip, "50034")
        for i, u in enumerate(us[1:14]):
            row(t0 + (i + 1) * MIN, u, ip, "50034")
        row(last, us[14], ip, "50034")
    for ip, gap in (("198.51.100.2", H), ("198.51.100.12", 30 * MIN)):
        for u in names("r2a_", 15):
            row(t0 + 3 * H, u, ip, "50034")
        for u in names("r2b_", 15):
            row(t0 + 3 * H + gap, u, ip, "50126")
    ip = "198.51.100.3"
    t = t0 + 6 * H
    for i, u in enumerate(names("r3_", 16)):
        rid = f"req-{i}"
        row(t + i * S, u, ip, "50034", rid=rid)
        row(t + i * S, f"  {u.upper()} ", ip, "50034", table="AADNonInteractiveUserSignInLogs", rid=rid)
        if i == 0:
            row(t + 10 * MIN, u, ip, "50034", rid=rid)  # a later copy of the first row
    for u in names("r3_", 3):
        row(t + 20 * MIN, u, ip, "50034", rid=None)
        row(t + 20 * MIN, u, ip, "50034", rid=None)
    ip = "198.51.100.4"
    t = t0 + 9 * H
    for i, u in enumerate(names("r4_", 14)):
        row(t + i * S, u, ip, "50126")
    row(t + MIN, "mfa.done@contoso.com", ip, "50076")
    row(t + MIN + 5 * MIN, "MFA.Done@contoso.com", ip, "0")  # completes it exactly at +5 min
    row(t + 2 * MIN, "mfa.late@contoso.com", ip, "50076")
    row(t + 2 * MIN + 5 * MIN + S, "mfa.late@contoso.com", ip, "0")  # too late: kept
    row(t + 3 * MIN, "mfa.before@contoso.com", ip, "0")
    row(t + 3 * MIN + S, "mfa.before@contoso.com", ip, "50076")  # success came first: kept
    ip = "198.51.100.5"
    t = t0 + 12 * H
    sprayed = names("r5_", 12)
    for i, u in enumerate(sprayed):
        row(t + i * 10 * S, u, ip, "50126")
    row(t + 200 * S, "r5.mfa@contoso.com", ip, "50076")  # password accepted: confirmed by itself
    last = t + 200 * S
    row(last + 30 * MIN, sprayed[3], ip, "0")
    row(last + H, sprayed[4].upper(), ip, "0")  # exactly one window after the episode
    row(last + H + 100, sprayed[5], ip, "0")  # 100 ns too late
    row(t + 5 * S, "never.probed@contoso.com", ip, "0")
    row(t + 5 * S, sprayed[6], ip, "0")  # before its first probe (t + 60 s)
    row(t + 30 * S, sprayed[0], ip, "0", table="AADNonInteractiveUserSignInLogs")
    ip = "198.51.100.6"
    t = t0 + 15 * H
    for i, u in enumerate(names("r6_", 12)):
        row(t + i * S, u, ip, "50126", ua="mozilla/5.0 (compatible; msal 1.0) pkeyauth/1.0" if i % 2 else "curl/8.0")
    t = t0 + 16 * H
    for i, u in enumerate(names("r7_", 20)):
        row(t + i * S, u, None, "50034")


def main():
    out = Path(sys.argv[1]) / "edge"
    out.mkdir(parents=True, exist_ok=True)
    seed_cases()
    recommended_cases()
    for table, rs in rows.items():
        with open(out / f"{table}.ndjson", "w") as f:
            for r in rs:
                f.write(json.dumps(r) + "\n")
    print(f"edge corpus: {sum(map(len, rows.values()))} rows, now = {ts(NOW)}")


if __name__ == "__main__":
    main()
