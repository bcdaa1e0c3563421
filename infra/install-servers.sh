#!/usr/bin/env bash
# Installs, from Debian's packages, what the integration tests start as local processes:
# Redis, ClickHouse, RabbitMQ (the monitor's alert delivery), headless Chromium (the executive report's rendering
# test), and docker-compose (1.29), which cannot run the compose stack without a Docker engine but validates and
# resolves docker-compose.yml for its test. (The Kafka-protocol test broker is librdkafka's mock cluster from the
# librdkafka.redist NuGet package: no Debian librdkafka is needed, and none is loaded even if installed.) Also gcc
# with the C library's headers: NativeAOT links the native `puffy run` (services/run) with it, and a test publishes it.
# Idempotent: does nothing when everything is present.
set -euo pipefail
packages=(redis-server clickhouse-server clickhouse-client rabbitmq-server chromium docker-compose gcc libc6-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [[ ${#missing[@]} -eq 0 ]]; then
  echo "servers: all installed (${packages[*]})"
  exit 0
fi
echo "servers: installing ${missing[*]}"
sudo_cmd=""
[[ $(id -u) -ne 0 ]] && sudo_cmd="sudo"
$sudo_cmd apt-get update -qq
# Keep the packages' own services from starting during the install (rabbitmq-server's would start a system node):
# a policy-rc.d that denies every start, only for the install and only when the machine has none of its own.
policy=/usr/sbin/policy-rc.d
if [[ ! -e $policy ]]; then
  printf '#!/bin/sh\nexit 101\n' | $sudo_cmd tee "$policy" >/dev/null
  $sudo_cmd chmod +x "$policy"
  trap '$sudo_cmd rm -f "$policy"' EXIT
fi
DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The packages' own services are not used (no systemd here); tests start their own instances on free ports.
echo "servers: installed"
