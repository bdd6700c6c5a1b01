#!/usr/bin/env bash
# check_perfetto.sh KASIM SCENARIO OUT: `kasim run SCENARIO --perfetto` must
# write perfetto.json as Trace Event JSON: complete ("X") slices with a name,
# a start and a non-negative duration, one per op the run reports.
set -euo pipefail
kasim="$1" scenario="$2" out="$3"
json="$("$kasim" run "$scenario" --perfetto --out "$out" --json)" || [ $? -eq 1 ]
python3 - "$out" "$json" <<'PY'
import json, pathlib, sys
out, report = pathlib.Path(sys.argv[1]), json.loads(sys.argv[2])
path = out / report["scenario"] / str(report["seed"]) / "perfetto.json"
events = json.loads(path.read_text())["traceEvents"]
slices = [e for e in events if e["ph"] == "X"]
for e in slices:
    assert isinstance(e["name"], str) and e["name"], e
    assert e["dur"] >= 0 and e["ts"] >= 0, e
assert len(slices) == report["ops"], (len(slices), report["ops"])
print(f"{path}: {len(slices)} op slices")
PY
