#!/bin/sh
# check_canary.sh KASIM SCENARIO CANARY MODE BUDGET OUTDIR: kasim check on a
# small scenario for an interleaving-only canary (docs/model-checking.md).
#   MODE dfs:  dfs with --preemption-bound 2 and --canary must find it (exit 1),
#              write a trace, and `kasim replay` of the trace must reproduce a
#              finding of the same kind (exit 1, "reproduced finding KIND").
#   MODE pct:  the same with pct within BUDGET schedules.
#   MODE none: dfs with --preemption-bound 2 and no canary must exhaust the
#              bounded space with no finding (exit 0).
#   MODE timed: `kasim run --canary` (the timed strategy) must pass (exit 0):
#              the bug is interleaving-only on this scenario.
kasim=$1 scenario=$2 canary=$3 mode=$4 budget=$5 out=$6
rm -rf "$out"
case "$mode" in
  dfs)  log=$("$kasim" check "$scenario" --canary "$canary" --preemption-bound 2 --out "$out" 2>&1) ;;
  pct)  log=$("$kasim" check "$scenario" --canary "$canary" --strategy pct --max-schedules "$budget" --out "$out" 2>&1) ;;
  none) log=$("$kasim" check "$scenario" --preemption-bound 2 --out "$out" 2>&1) ;;
  timed) log=$("$kasim" run "$scenario" --canary "$canary" --out "$out" 2>&1) ;;
  *) echo "usage: check_canary.sh KASIM SCENARIO CANARY dfs|pct|none|timed BUDGET OUTDIR"; exit 2 ;;
esac
status=$?
echo "$log"
if [ "$mode" = timed ]; then
  if [ $status -ne 0 ]; then
    echo "FAIL: the timed run with --canary $canary exited $status (want 0: the bug needs an interleaving)"
    exit 1
  fi
  exit 0
fi
if [ "$mode" = none ]; then
  if [ $status -ne 0 ] || ! echo "$log" | grep -q "exhausted (" ; then
    echo "FAIL: without the canary, dfs exited $status and did not exhaust the bounded space"
    exit 1
  fi
  exit 0
fi
if [ $status -ne 1 ]; then
  echo "FAIL: kasim check --strategy $mode --canary $canary exited $status (want 1: a finding)"
  exit 1
fi
kind=$(echo "$log" | sed -n 's/^FINDING \([a-z_]*\):.*/\1/p' | head -n 1)
trace=$(echo "$log" | sed -n 's/^reproduce: .* replay //p')
if [ -z "$kind" ] || [ -z "$trace" ] || [ ! -f "$trace" ]; then
  echo "FAIL: no finding kind or no trace written"
  exit 1
fi
replay=$("$kasim" replay "$trace" 2>&1)
status=$?
echo "$replay"
if [ $status -ne 1 ] || ! echo "$replay" | grep -q "^replay: reproduced finding $kind "; then
  echo "FAIL: kasim replay $trace exited $status, or not with a finding of kind $kind"
  exit 1
fi
exit 0
