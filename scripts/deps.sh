#!/usr/bin/env bash
# Installs the Debian packages the build, the demo and the tests need, if
# any is missing. Sourced by demo.sh and test.sh.
set -euo pipefail

gt_need_packages() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
      missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "installing: ${missing[*]}"
  local sudo=()
  [ "$(id -u)" -ne 0 ] && sudo=(sudo)
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

GT_BUILD_PACKAGES=(cmake make gcc pkg-config libgc-dev libcurl4-openssl-dev
  libmbedtls-dev libjansson-dev libinih-dev libcriterion-dev libunwind-dev
  libdw-dev protobuf-c-compiler libprotobuf-c-dev zlib1g-dev)
# golang-go (go tool pprof), graphviz (its -svg) and w3m: for the tests
# only, where pprof itself reads gt's profiles of our workload and of w3m
# under gt run (tests/profile); the build needs none of them.
GT_TEST_PACKAGES=(python3 python3-aiosmtpd openssl ca-certificates
  prometheus-alertmanager clang libclang-rt-14-dev valgrind golang-go
  graphviz w3m mmv chase debfoster)
GT_BENCH_PACKAGES=(gnuplot-nox jq)
