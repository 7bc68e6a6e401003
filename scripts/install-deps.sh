#!/usr/bin/env bash
# Installs what faultline needs on a Debian machine, when it is missing:
# a Java runtime for the servers, Maven to fetch them from Maven Central,
# iproute2 to look at the run's namespaces by hand, and Chromium for the
# browser test of `faultline serve` (headless; CI=true makes it required).
# Needs root.
set -euo pipefail
missing=()
command -v java >/dev/null 2>&1 || missing+=(openjdk-17-jre-headless)
command -v mvn >/dev/null 2>&1 || missing+=(maven)
command -v ip >/dev/null 2>&1 || missing+=(iproute2)
command -v go >/dev/null 2>&1 || missing+=(golang-go)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
