#!/usr/bin/env bash
# Installs every Debian package weft needs to build, test and benchmark.
# Idempotent and quiet when everything is already present. The only install step there is.
set -euo pipefail

packages=(
  # toolchain
  g++ clang cmake ninja-build pkg-config
  # libraries the library and the CLI link
  libspdlog-dev libfmt-dev libcli11-dev
  libcurl4-openssl-dev libssl-dev libhttp-parser-dev libcereal-dev
  libxml2-dev libsqlite3-dev
  # tools the tests drive (TLS certificates made at test time)
  openssl
  # the crawler integration test reads --report JSON with rapidjson
  rapidjson-dev
  # tests and micro-benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev
  # peers the benchmarks measure against (same run, same machine)
  libasio-dev libtbb-dev libconcurrentqueue-dev python3 nginx-light python3-aiohttp python3-uvloop curl
  python3-requests python3-aiofiles wget2 aria2 time
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
