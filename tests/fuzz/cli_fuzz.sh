#!/bin/sh
# cli_fuzz.sh KASIM SOURCE_DIR: the fuzz, shrink and replay commands as a user runs them.
kasim=$1 src=$2
fail() { echo "FAIL: $*"; exit 1; }
expect_status() {  # expect_status WANT CMD...: runs CMD, checks its exit status
  want=$1; shift
  "$@" >out.log 2>&1
  got=$?
  [ "$got" -eq "$want" ] || { cat out.log; fail "$* exited $got, want $want"; }
}
rm -rf work && mkdir work && cd work || exit 1
scen="$src/scenarios/canaries/vmem-inuse-unlocked.json"

# Usage errors are exit 2 with a message.
expect_status 2 "$kasim" fuzz "$scen" --shard 3/2
grep -q "shard expects K/N" out.log || fail "no --shard message"
expect_status 2 "$kasim" fuzz "$scen" --canary no_such_bug
grep -q "unknown canary 'no_such_bug' (known: " out.log || fail "no canary list"
expect_status 2 "$kasim" fuzz "$scen" --seeds 0

# A clean campaign in two shards: one JSON line per seed, every seed once.
expect_status 0 "$kasim" fuzz "$scen" --seeds 10 --shard 0/2 --jsonl all.jsonl --out r
expect_status 0 "$kasim" fuzz "$scen" --seeds 10 --shard 1/2 --jsonl all.jsonl --out r --jobs 2
[ "$(wc -l < all.jsonl)" -eq 10 ] || fail "want 10 JSON lines"
[ "$(sed -n 's/.*"seed":\([0-9]*\).*/\1/p' all.jsonl | sort -n | uniq | wc -l)" -eq 10 ] ||
  fail "seeds repeated or missing"
grep -q '"finding":null' all.jsonl || fail "no finding:null"
grep -q "marks never reached:" out.log || fail "no marks summary"

# With the canary: exit 1, a trace, and a JSON line naming it.
expect_status 1 "$kasim" fuzz "$scen" --canary vmem_inuse_unlocked --seeds 50 --no-shrink \
  --jsonl bug.jsonl --out r
trace=$(sed -n 's/^reproduce: .* replay //p' out.log)
[ -f "$trace" ] || fail "no trace at '$trace'"
grep -q '"canary":"vmem_inuse_unlocked"' bug.jsonl || fail "jsonl does not name the canary"

# The trace replays with its canary; naming another one is a usage error.
expect_status 1 "$kasim" replay "$trace"
grep -q "^replay: reproduced finding vmem" out.log || fail "replay did not reproduce"
expect_status 2 "$kasim" replay "$trace" --canary pool_nowait_hardlimit

# kasim shrink: smaller, same kind, and the result replays.
expect_status 0 "$kasim" shrink "$trace" -o min.json
grep -q "^  before: " out.log && grep -q "^  after: " out.log || fail "no sizes"
expect_status 1 "$kasim" replay min.json
grep -q "^replay: reproduced finding vmem" out.log || fail "minimal trace does not reproduce"
before=$(grep -o '"steps": [0-9]*' "$trace" | head -1 | grep -o '[0-9]*$')
after=$(grep -o '"steps": [0-9]*' min.json | head -1 | grep -o '[0-9]*$')
[ "$after" -le "$before" ] || fail "shrink made the run longer: $before -> $after"
echo "ok"
