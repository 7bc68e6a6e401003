#!/usr/bin/env bash
# Stops the Docker daemon scripts/start-dockerd.sh started (by the pid it
# recorded, never by name) and removes the docker0 bridge it leaves.
set -uo pipefail
pidfile=${FAULTLINE_DOCKERD_PIDFILE:-/run/faultline-dockerd.pid}
[[ -f $pidfile ]] || exit 0
pid=$(cat "$pidfile")
if [[ $pid =~ ^[0-9]+$ ]] && [[ $(cat /proc/"$pid"/comm 2>/dev/null) == dockerd ]]; then
  kill -TERM "$pid"
  for _ in $(seq 1 150); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "dockerd (pid $pid) did not stop in 30 s: killing it" >&2
    kill -KILL "$pid"
  fi
fi
rm -f "$pidfile"
if ip link show docker0 >/dev/null 2>&1; then
  ip link delete docker0
fi
