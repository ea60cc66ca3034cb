#!/usr/bin/env bash
# The entrypoint (npm start, the container): clear a stale scheduler lock,
# migrate, then exec the cluster so signals reach the primary directly.
#   ./start.sh            run in the foreground
#   ./start.sh --daemon   run in the background (pid file and log under the data folder)
#   ./start.sh --stop     stop the background run (SIGTERM, waits for a clean exit)
#   ./start.sh --status   say whether the background run is alive
#   ./start.sh --reload   deploy new code into the background run: migrate, then
#                         SIGHUP, a rolling restart (one worker at a time)
set -euo pipefail
cd "$(dirname "$0")"

data_dir="${DATA_DIR:-./data}"
pid_file="$data_dir/coursework.pid"
log_file="$data_dir/coursework.log"

running_pid() {
  [ -f "$pid_file" ] || return 1
  local pid
  pid=$(cat "$pid_file")
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  # After a reboot or a crash the pid may belong to another program now:
  # only a process running our entry point counts (and is ever signalled).
  if [ -r "/proc/$pid/cmdline" ] && ! tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qE 'dist/main\.js|start\.sh'; then
    echo "The pid file names pid $pid, which is not Coursework; ignoring it" >&2
    return 1
  fi
  echo "$pid"
}

case "${1:-}" in
  --daemon)
    if pid=$(running_pid); then echo "Coursework is already running (pid $pid)"; exit 1; fi
    # Owner-only, like the folder the app makes itself: the log and pid file live here.
    mkdir -p -m 700 "$data_dir"
    # setsid: the daemon outlives this shell and its terminal; exec keeps the
    # pid, so the pid file names the primary itself.
    setsid "$0" >>"$log_file" 2>&1 < /dev/null &
    echo $! >"$pid_file"
    sleep 1
    if pid=$(running_pid); then
      echo "Coursework started (pid $pid); log: $log_file"
    else
      echo "Coursework failed to start; see $log_file" >&2
      exit 1
    fi
    exit 0
    ;;
  --stop)
    if ! pid=$(running_pid); then echo "Coursework is not running"; rm -f "$pid_file"; exit 0; fi
    kill -TERM "$pid"
    timeout_s=$(( (${SHUTDOWN_TIMEOUT_MS:-10000} / 1000) + 10 ))
    for _ in $(seq 1 $((timeout_s * 10))); do
      kill -0 "$pid" 2>/dev/null || { rm -f "$pid_file"; echo "Coursework stopped"; exit 0; }
      sleep 0.1
    done
    echo "Coursework (pid $pid) did not stop within ${timeout_s} s" >&2
    exit 1
    ;;
  --reload)
    if ! pid=$(running_pid); then echo "Coursework is not running" >&2; exit 1; fi
    # New workers run the code on disk now; the schema they need comes first.
    node dist/cli.js migrate
    kill -HUP "$pid"
    echo "Coursework (pid $pid) is replacing its workers one at a time; see $log_file"
    exit 0
    ;;
  --status)
    if pid=$(running_pid); then echo "Coursework is running (pid $pid)"; exit 0; fi
    echo "Coursework is not running"
    exit 3
    ;;
  "") ;;
  *)
    echo "Usage: $0 [--daemon|--stop|--status|--reload]" >&2
    exit 2
    ;;
esac

node dist/cli.js lock:clear-stale
node dist/cli.js migrate
node dist/cli.js welcome
exec node dist/main.js
