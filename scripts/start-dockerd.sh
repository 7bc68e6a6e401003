#!/usr/bin/env bash
# Installs Debian's docker.io when missing and starts one Docker daemon for
# faultline's Docker backend, with flags that leave the host's network
# alone: no iptables rules, no forwarding or masquerading, a private bridge
# address and address pool, and no DNS forwarding (configs use addresses).
# Nothing starts Debian's daemon by itself on these machines. Prints the
# daemon's pid and leaves it in $FAULTLINE_DOCKERD_PIDFILE; stop it with
# scripts/stop-dockerd.sh, which stops only that pid. A daemon that already
# answers on the socket is used as it is (and not stopped later). Needs root.
set -euo pipefail
pidfile=${FAULTLINE_DOCKERD_PIDFILE:-/run/faultline-dockerd.pid}
log=${FAULTLINE_DOCKERD_LOG:-/var/log/faultline-dockerd.log}
sock=/var/run/docker.sock
if ! command -v dockerd >/dev/null 2>&1; then
  echo "installing: docker.io"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends docker.io
fi
answers() { curl -sf --max-time 2 --unix-socket "$sock" http://localhost/_ping >/dev/null 2>&1; }
if answers; then
  echo "a Docker daemon already answers on $sock: using it"
  exit 0
fi
dockerd \
  --iptables=false --ip6tables=false --ip-forward=false --ip-masq=false \
  --bip "${FAULTLINE_DOCKER_BIP:-10.212.0.1/24}" \
  --default-address-pool "base=${FAULTLINE_DOCKER_POOL:-10.214.0.0/16},size=24" \
  --dns 127.0.0.1 \
  --data-root "${FAULTLINE_DOCKER_DATA_ROOT:-/var/lib/docker}" \
  --host "unix://$sock" \
  >"$log" 2>&1 &
pid=$!
echo "$pid" >"$pidfile"
for _ in $(seq 1 100); do
  if answers; then
    echo "dockerd up, pid $pid, log $log"
    exit 0
  fi
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "dockerd exited on start; its log ($log) ends:" >&2
    tail -n 20 "$log" >&2
    rm -f "$pidfile"
    exit 1
  fi
  sleep 0.2
done
echo "dockerd (pid $pid) did not answer on $sock in 20 s; see $log" >&2
exit 1
