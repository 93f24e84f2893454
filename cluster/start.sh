#!/usr/bin/env bash
# Start a one-node SLURM cluster (munged + slurmctld + slurmd) and a local Ray head on this
# machine. Idempotent: installs what is missing, starts only what is not running, and records
# what it started under the run dir so cluster/stop.sh stops exactly that.
#
#   cluster/start.sh [--no-ray]
#
# Environment: LIT_HW_CLUSTER_DIR (default /tmp/lit_hw_cluster), PY (default .venv/bin/python),
# LIT_HW_RAY_PORT (default 6379), LIT_HW_CLUSTER_WAIT_S (default 60).
# Needs root, or passwordless sudo for the SLURM/munge part (Ray then runs as the calling user).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

WAIT_S=${LIT_HW_CLUSTER_WAIT_S:-60}
WITH_RAY=1
for arg in "$@"; do
    case "$arg" in
        --no-ray) WITH_RAY=0 ;;
        -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
        *) echo "cluster/start.sh: unknown argument: $arg" >&2; exit 2 ;;
    esac
done

log() { echo "[cluster/start] $*"; }
die() { echo "[cluster/start] ERROR: $*" >&2; exit 1; }

show_logs() {
    for f in "$RUN_DIR"/log/slurmctld.log "$RUN_DIR"/log/slurmd.log "$RUN_DIR"/log/munged.log; do
        [ -r "$f" ] || continue
        echo "----- last lines of $f -----" >&2
        tail -n 40 "$f" >&2
    done
}

# ---------------------------------------------------------------- (a) packages
missing=0
for bin in munged munge slurmctld slurmd sinfo sbatch srun scontrol; do
    command -v "$bin" >/dev/null 2>&1 || { log "missing: $bin"; missing=1; }
done
if [ "$missing" -eq 1 ]; then
    command -v apt-get >/dev/null 2>&1 || die "slurm/munge missing and no apt-get: install slurm-wlm and munge by hand"
    log "installing slurm-wlm and munge with apt-get (quiet) ..."
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null \
        || die "apt-get update failed"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
        slurm-wlm munge >/dev/null || die "apt-get install slurm-wlm munge failed"
    for bin in munged slurmctld slurmd sinfo; do
        command -v "$bin" >/dev/null 2>&1 || die "$bin still missing after apt-get install"
    done
fi

as_root mkdir -p "$RUN_DIR" "$RUN_DIR/log" "$RUN_DIR/slurmctld" "$RUN_DIR/slurmd"
as_root chmod 755 "$RUN_DIR" "$RUN_DIR/log"
# The caller owns the run dir (Ray's state file and log are written as the caller, not root).
as_root chown "$(id -u):$(id -g)" "$RUN_DIR" "$RUN_DIR/log"

# ---------------------------------------------------------------- (b) munge
MUNGE_KEY=/etc/munge/munge.key
if ! as_root test -s "$MUNGE_KEY"; then
    log "creating munge key $MUNGE_KEY"
    as_root mkdir -p /etc/munge
    if command -v mungekey >/dev/null 2>&1; then
        as_root mungekey --create --keyfile="$MUNGE_KEY"
    else
        as_root dd if=/dev/urandom of="$MUNGE_KEY" bs=1 count=1024 status=none
    fi
fi
MUNGE_USER=root
id munge >/dev/null 2>&1 && MUNGE_USER=munge
as_root chown "$MUNGE_USER:" /etc/munge "$MUNGE_KEY"
as_root chmod 700 /etc/munge
as_root chmod 400 "$MUNGE_KEY"

munge_ok() { munge -n 2>/dev/null | unmunge >/dev/null 2>&1; }
if munge_ok; then
    if pid_alive "$(pidfile_pid "$RUN_DIR/munged.pid")" munged; then
        log "munged already running (started by us, pid $(pidfile_pid "$RUN_DIR/munged.pid"))"
    else
        log "munged already running (not started by us: left alone by stop.sh)"
    fi
else
    # Debian's defaults: socket /run/munge/munge.socket.2, pid file /run/munge/munged.pid.
    as_root mkdir -p /run/munge /var/lib/munge /var/log/munge
    as_root chown "$MUNGE_USER:" /run/munge /var/lib/munge /var/log/munge
    as_root chmod 755 /run/munge
    as_root rm -f /run/munge/munged.pid
    log "starting munged (as $MUNGE_USER)"
    if [ "$MUNGE_USER" = root ]; then
        as_root munged --force
    else
        as_root runuser -u "$MUNGE_USER" -- munged
    fi
    for _ in $(seq 1 50); do munge_ok && break; sleep 0.2; done
    munge_ok || { show_logs; tail -n 20 /var/log/munge/munged.log >&2 || true; die "munged did not come up"; }
    pid=$(pidfile_pid /run/munge/munged.pid)
    [ -n "$pid" ] || pid=$(pgrep -n -x munged || true)
    echo "$pid" | as_root tee "$RUN_DIR/munged.pid" >/dev/null
    log "munged up (pid $pid)"
fi

# ---------------------------------------------------------------- (c) slurm
NODE_NAME=$(hostname -s)
CTLD_HOST=$(hostname)
CPUS=$(nproc)
mem_mb=$(awk '/^MemTotal:/ {print int($2 / 1024)}' /proc/meminfo)
# slurmd drains a node whose RealMemory is above what it measures itself: stay 5% below both.
slurmd_mem=$(slurmd -C 2>/dev/null | tr ' ' '\n' | sed -n 's/^RealMemory=//p' | head -n1 || true)
if [ -n "$slurmd_mem" ] && [ "$slurmd_mem" -lt "$mem_mb" ]; then mem_mb=$slurmd_mem; fi
REAL_MEMORY=$(( mem_mb * 95 / 100 ))
DEF_MEM_PER_CPU=$(( REAL_MEMORY / CPUS ))

rendered="$RUN_DIR/slurm.conf.rendered"
sed -e "s|@CTLD_HOST@|$CTLD_HOST|g" -e "s|@NODE_NAME@|$NODE_NAME|g" -e "s|@CPUS@|$CPUS|g" \
    -e "s|@REAL_MEMORY@|$REAL_MEMORY|g" -e "s|@DEF_MEM_PER_CPU@|$DEF_MEM_PER_CPU|g" \
    -e "s|@RUN_DIR@|$RUN_DIR|g" "$CLUSTER_HERE/slurm/slurm.conf.in" \
    | { echo "$CONF_MARKER from cluster/slurm/slurm.conf.in -- do not edit"; cat; } \
    | as_root tee "$rendered" >/dev/null
grep -q '@[A-Z_]*@' "$rendered" && die "unfilled placeholder in $rendered"

conf_changed=0
if ! as_root cmp -s "$rendered" "$SLURM_CONF_PATH"; then
    conf_changed=1
    as_root mkdir -p "$(dirname "$SLURM_CONF_PATH")"
    if as_root test -e "$SLURM_CONF_PATH" && ! as_root grep -qF "$CONF_MARKER" "$SLURM_CONF_PATH"; then
        backup="$SLURM_CONF_PATH.before-lit_hw"
        log "backing up the existing $SLURM_CONF_PATH to $backup"
        as_root cp -p "$SLURM_CONF_PATH" "$backup"
    fi
    as_root install -m 644 "$rendered" "$SLURM_CONF_PATH"
    log "wrote $SLURM_CONF_PATH (node $NODE_NAME: CPUs=$CPUS RealMemory=$REAL_MEMORY DefMemPerCPU=$DEF_MEM_PER_CPU)"
fi
# task/none + proctrack/linuxproc need no cgroup.conf; one left over from elsewhere is harmless.

ctld_pid=$(pidfile_pid "$RUN_DIR/slurmctld.pid")
slurmd_pid=$(pidfile_pid "$RUN_DIR/slurmd.pid")
if [ "$conf_changed" -eq 1 ]; then
    # A changed node/partition definition needs a restart of both daemons.
    for d in slurmd slurmctld; do
        pid=$(pidfile_pid "$RUN_DIR/$d.pid")
        if pid_alive "$pid" "$d"; then
            log "config changed: restarting $d (pid $pid)"
            as_root kill "$pid" || true
            for _ in $(seq 1 50); do pid_alive "$pid" "$d" || break; sleep 0.2; done
        fi
    done
    ctld_pid=""; slurmd_pid=""
fi

foreign_check() {  # refuse to start a daemon next to one that is not ours (same ports)
    local d=$1 ours=$2 others
    others=$(pgrep -x "$d" | grep -vx "${ours:-none}" || true)
    [ -z "$others" ] || die "a $d not started by cluster/start.sh is running (pid $others); stop it first (e.g. systemctl stop $d)"
}

if pid_alive "$ctld_pid" slurmctld; then
    log "slurmctld already running (pid $ctld_pid)"
else
    foreign_check slurmctld ""
    log "starting slurmctld"
    # -c: start from an empty job queue (no jobs survive a restart of this test cluster).
    as_root slurmctld -c || { show_logs; die "slurmctld failed to start"; }
fi
if pid_alive "$slurmd_pid" slurmd; then
    log "slurmd already running (pid $slurmd_pid)"
else
    foreign_check slurmd ""
    log "starting slurmd"
    as_root slurmd || { show_logs; die "slurmd failed to start"; }
fi

log "waiting up to ${WAIT_S}s for node $NODE_NAME to be idle ..."
state=""
deadline=$(( $(date +%s) + WAIT_S ))
while :; do
    state=$(sinfo -h -N -n "$NODE_NAME" -o '%t' 2>/dev/null | head -n1 || true)
    case "$state" in
        idle|mix|mixed|alloc|allocated) break ;;
    esac
    if [ "$(date +%s)" -ge "$deadline" ]; then
        echo "[cluster/start] node $NODE_NAME not ready after ${WAIT_S}s (state: '${state:-unknown}')" >&2
        scontrol show node "$NODE_NAME" >&2 2>&1 || true
        show_logs
        exit 1
    fi
    for d in slurmctld slurmd; do
        if ! pid_alive "$(pidfile_pid "$RUN_DIR/$d.pid")" "$d"; then
            sleep 1  # the pid file appears a moment after the daemon forks
            pid_alive "$(pidfile_pid "$RUN_DIR/$d.pid")" "$d" || { show_logs; die "$d exited"; }
        fi
    done
    sleep 1
done
log "SLURM up: node $NODE_NAME is $state; partition debug (sinfo below)"
sinfo

# ---------------------------------------------------------------- (d) ray
if [ "$WITH_RAY" -eq 0 ]; then
    log "--no-ray: not starting Ray"
    exit 0
fi
RAY=$(ray_cmd)
if [ -z "$RAY" ]; then
    log "ray is not importable from $PY: not starting Ray (set PY=... or pass --no-ray)"
    exit 0
fi
# `ray status` against a port nobody listens on retries for ~40 s: probe the port first.
if (exec 3<>"/dev/tcp/127.0.0.1/$RAY_PORT") 2>/dev/null; then
    timeout 60 $RAY status --address "127.0.0.1:$RAY_PORT" >/dev/null 2>&1 \
        || die "port $RAY_PORT is in use but no Ray answers there (set LIT_HW_RAY_PORT)"
    if [ -e "$RUN_DIR/ray.started" ]; then
        log "Ray head already running at 127.0.0.1:$RAY_PORT (started by us)"
    else
        log "Ray head already running at 127.0.0.1:$RAY_PORT (not started by us: left alone by stop.sh)"
    fi
    exit 0
fi
log "starting Ray head ($RAY start --head --num-cpus=$CPUS, port $RAY_PORT)"
if ! $RAY start --head --port="$RAY_PORT" --num-cpus="$CPUS" \
        --disable-usage-stats >"$RUN_DIR/log/ray-start.log" 2>&1; then
    cat "$RUN_DIR/log/ray-start.log" >&2
    die "ray start failed"
fi
printf 'address=127.0.0.1:%s\nray=%s\n' "$RAY_PORT" "$RAY" >"$RUN_DIR/ray.started"
log "Ray up at 127.0.0.1:$RAY_PORT (ray.init(address='auto') connects)"
