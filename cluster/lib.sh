# Shared by cluster/start.sh and cluster/stop.sh (sourced, not run).
# Settings (environment):
#   LIT_HW_CLUSTER_DIR  run dir for pid files, slurm state/spool/logs (default /tmp/lit_hw_cluster)
#   PY                  python whose `ray` is used (default <repo>/.venv/bin/python)
#   LIT_HW_RAY_PORT     Ray GCS port (default 6379)

CLUSTER_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(dirname "$CLUSTER_HERE")
RUN_DIR=${LIT_HW_CLUSTER_DIR:-/tmp/lit_hw_cluster}
PY=${PY:-$REPO_ROOT/.venv/bin/python}
RAY_PORT=${LIT_HW_RAY_PORT:-6379}
SLURM_CONF_PATH=/etc/slurm/slurm.conf
CONF_MARKER="# rendered by lit_hw cluster/start.sh"
# Debian puts the daemons in /usr/sbin, which a non-login shell (CI, sudo -E) may not have on PATH.
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo -n "$@"; fi
}

pid_alive() {  # pid_alive PID COMM -> 0 if PID is running and its command name is COMM
    local pid=$1 comm=$2
    [ -n "$pid" ] || return 1
    [ "$(ps -p "$pid" -o comm= 2>/dev/null)" = "$comm" ]
}

pidfile_pid() {  # prints the pid in file $1 (empty if none)
    [ -r "$1" ] && tr -dc '0-9' <"$1" || true
}

ray_cmd() {  # the `ray` CLI that belongs to $PY (prints nothing if ray is not importable)
    local bin
    bin="$(dirname "$PY")/ray"
    if [ -x "$bin" ]; then echo "$bin"; return; fi
    if [ -x "$PY" ] && "$PY" -c 'import ray' >/dev/null 2>&1; then echo "$PY -m ray.scripts.scripts"; fi
}
