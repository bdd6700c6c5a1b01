#!/bin/sh
# canary_found.sh KASIM SCENARIO CANARY SEEDS OUTDIR: `kasim fuzz --canary`
# must report a finding (exit 1) within SEEDS seeds, and the minimal trace it
# prints must replay to that finding (exit 1, "reproduced").
kasim=$1 scenario=$2 canary=$3 seeds=$4 out=$5
rm -rf "$out"
log=$("$kasim" fuzz "$scenario" --canary "$canary" --seeds "$seeds" --out "$out" 2>&1)
status=$?
echo "$log"
if [ $status -ne 1 ]; then
  echo "FAIL: kasim fuzz --canary $canary exited $status (want 1: a finding) within $seeds seeds"
  exit 1
fi
trace=$(echo "$log" | sed -n 's/^reproduce: .* replay //p')
if [ -z "$trace" ] || [ ! -f "$trace" ]; then
  echo "FAIL: no replayable trace printed"
  exit 1
fi
case "$trace" in *.min.trace.json) ;; *) echo "FAIL: the trace was not shrunk: $trace"; exit 1 ;; esac
replay=$("$kasim" replay "$trace" 2>&1)
status=$?
echo "$replay"
if [ $status -ne 1 ] || ! echo "$replay" | grep -q "^replay: reproduced finding"; then
  echo "FAIL: kasim replay $trace exited $status"
  exit 1
fi
exit 0
