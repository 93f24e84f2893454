#!/usr/bin/env bash
# Checks a cluster started by cluster/start.sh: sbatch, a 2-task srun, two 1-CPU jobs at
# once, scancel, and (unless --no-ray) one Ray task. Runs every check,
# prints "smoke: N passed, M failed" and exits non-zero if any failed.
# Job output goes to a temp dir, never into the repo.
#
#   cluster/smoke_test.sh [--no-ray]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

WITH_RAY=1
[ "${1:-}" = "--no-ray" ] && WITH_RAY=0
work=$(mktemp -d /tmp/lit_hw_smoke.XXXXXX)
cd "$work"
pass=0; fail=0
ok()  { echo "PASS: $*"; pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }

job_state() { scontrol show job "$1" 2>/dev/null | grep -o 'JobState=[A-Z_]*' | cut -d= -f2; }
wait_state() {  # wait_state JOBID STATE TIMEOUT_S
    local t=0 s
    while [ "$t" -lt "$(( $3 * 2 ))" ]; do
        s=$(job_state "$1")
        [ "$s" = "$2" ] && return 0
        case "$s" in FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY) [ "$s" != "$2" ] && return 1 ;; esac
        sleep 0.5; t=$((t + 1))
    done
    return 1
}

# 1. sbatch
jid=$(sbatch --parsable -o "sbatch-%j.out" --wrap='hostname; sleep 2')
if wait_state "$jid" COMPLETED 60 && grep -qx "$(hostname -s)" "sbatch-$jid.out"; then
    ok "sbatch --wrap='hostname; sleep 2' (job $jid COMPLETED, printed $(cat "sbatch-$jid.out"))"
else
    bad "sbatch job $jid: state $(job_state "$jid")"
fi

# 2. srun with 2 tasks x 1 CPU (the 2-rank DDP shape)
out=$(timeout 120 srun --ntasks=2 --cpus-per-task=1 hostname 2>&1 || true)
if [ "$(grep -cx "$(hostname -s)" <<<"$out")" -eq 2 ]; then
    ok "srun --ntasks=2 --cpus-per-task=1 hostname printed the host twice"
else
    bad "srun --ntasks=2: got '$out'"
fi

# 3. two 1-CPU jobs overlap in time
a=$(sbatch --parsable -c1 -o "a-%j.out" --wrap='date +%s.%N; sleep 6; date +%s.%N')
b=$(sbatch --parsable -c1 -o "b-%j.out" --wrap='date +%s.%N; sleep 6; date +%s.%N')
if wait_state "$a" COMPLETED 60 && wait_state "$b" COMPLETED 60; then
    # job b started before job a ended
    if awk 'NR==FNR { if (FNR == 2) a_end = $1; next } FNR == 1 { exit !($1 < a_end) }' "a-$a.out" "b-$b.out"; then
        ok "two 1-CPU jobs ($a, $b) ran at the same time"
    else
        bad "1-CPU jobs $a and $b did not overlap: $(cat "a-$a.out" "b-$b.out" | tr '\n' ' ')"
    fi
else
    bad "1-CPU jobs $a/$b: states $(job_state "$a")/$(job_state "$b")"
fi

# 4. scancel
c=$(sbatch --parsable -o "c-%j.out" --wrap='sleep 300')
wait_state "$c" RUNNING 30 || true
scancel "$c"
if wait_state "$c" CANCELLED 30; then ok "scancel $c (job CANCELLED)"; else bad "scancel $c: state $(job_state "$c")"; fi

# 5. Ray
if [ "$WITH_RAY" -eq 1 ]; then
    r=$(timeout 120 "$PY" -c "import ray; ray.init(address='auto', logging_level='ERROR'); print(ray.get(ray.remote(lambda: 1).remote()))" 2>/dev/null | tail -n1 || true)
    if [ "$r" = 1 ]; then ok "Ray task via ray.init(address='auto') returned 1"; else bad "Ray task: got '$r'"; fi
fi

rm -rf "$work"
echo "smoke: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
