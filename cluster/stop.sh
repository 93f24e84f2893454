#!/usr/bin/env bash
# Stop what cluster/start.sh started (per the pid/state files in the run dir): the Ray head,
# the jobs still in the queue, slurmd, slurmctld and munged. A munged or Ray that start.sh
# found already running is left alone. Never fails: stopping a stopped cluster is fine.
#
#   cluster/stop.sh
#
# Environment: LIT_HW_CLUSTER_DIR (default /tmp/lit_hw_cluster), PY (fallback for `ray`).
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

log() { echo "[cluster/stop] $*"; }

stop_pidfile() {  # stop_pidfile NAME: TERM (then KILL after 15 s) the NAME whose pid is in RUN_DIR/NAME.pid
    local name=$1 file="$RUN_DIR/$1.pid" pid
    pid=$(pidfile_pid "$file")
    if pid_alive "$pid" "$name"; then
        log "stopping $name (pid $pid)"
        as_root kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 75); do pid_alive "$pid" "$name" || break; sleep 0.2; done
        if pid_alive "$pid" "$name"; then
            log "$name (pid $pid) ignored SIGTERM: SIGKILL"
            as_root kill -KILL "$pid" 2>/dev/null || true
        fi
    elif [ -n "$pid" ]; then
        log "$name (pid $pid) not running"
    fi
    as_root rm -f "$file" 2>/dev/null || true
}

if [ ! -d "$RUN_DIR" ]; then
    log "nothing to stop ($RUN_DIR does not exist)"
    exit 0
fi

# ---- Ray (only if start.sh started it)
if [ -e "$RUN_DIR/ray.started" ]; then
    RAY=$(sed -n 's/^ray=//p' "$RUN_DIR/ray.started")
    [ -n "$RAY" ] || RAY=$(ray_cmd)
    if [ -n "$RAY" ]; then
        log "stopping Ray ($RAY stop)"
        # `ray stop` stops every Ray process of this user on the machine.
        timeout 120 $RAY stop --grace-period 10 >/dev/null 2>&1 \
            || timeout 60 $RAY stop --force >/dev/null 2>&1 || log "ray stop failed (ignored)"
    else
        log "cannot find the ray CLI to stop Ray (PY=$PY)"
    fi
    rm -f "$RUN_DIR/ray.started" 2>/dev/null || as_root rm -f "$RUN_DIR/ray.started" || true
fi

# ---- SLURM: cancel our jobs first (slurmstepd and the job processes outlive slurmd otherwise)
ctld_pid=$(pidfile_pid "$RUN_DIR/slurmctld.pid")
if pid_alive "$ctld_pid" slurmctld && command -v squeue >/dev/null 2>&1; then
    jobs=$(timeout 20 squeue -h -o '%i' 2>/dev/null | tr '\n' ' ')
    if [ -n "${jobs// /}" ]; then
        log "cancelling jobs: $jobs"
        # shellcheck disable=SC2086
        as_root scancel $jobs 2>/dev/null || true
        for _ in $(seq 1 30); do
            [ -z "$(timeout 10 squeue -h -t R,CG,PD -o '%i' 2>/dev/null)" ] && break
            sleep 0.5
        done
    fi
fi
slurmd_pid=$(pidfile_pid "$RUN_DIR/slurmd.pid")
if pid_alive "$slurmd_pid" slurmd && command -v scontrol >/dev/null 2>&1; then
    # Job step processes that survived the scancel (scontrol asks the local slurmstepds).
    left=$(timeout 10 scontrol listpids 2>/dev/null | awk 'NR > 1 && $1 ~ /^[0-9]+$/ {print $1}' | tr '\n' ' ')
    if [ -n "${left// /}" ]; then
        log "killing leftover job processes: $left"
        # shellcheck disable=SC2086
        as_root kill -KILL $left 2>/dev/null || true
    fi
fi
stop_pidfile slurmd
stop_pidfile slurmctld

# ---- munged (only if start.sh started it)
stop_pidfile munged

log "stopped (logs kept in $RUN_DIR/log)"
exit 0
