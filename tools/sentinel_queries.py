"""sentinel_queries.py OUTDIR FILE... — extract the `query:` block of Sentinel
analytic-rule YAML files into OUTDIR/<name>.kql for kql-check.js."""
import os
import sys

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
for path in sys.argv[2:]:
    lines = open(path, encoding="utf-8").read().splitlines()
    q, inside = [], False
    for line in lines:
        if line.startswith("query: |"):
            inside = True
            continue
        if inside:
            if line and not line.startswith("  "):
                break
            q.append(line[2:])
    name = os.path.basename(path).replace(".yaml", ".kql")
    with open(os.path.join(out, name), "w", encoding="utf-8") as f:
        f.write("\n".join(q) + "\n")
