#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test:
#   1. the whole suite under AddressSanitizer + UndefinedBehaviorSanitizer (preset: debug)
#   2. the whole suite under ThreadSanitizer (preset: tsan)
#   3. the whole suite built with clang 14 (preset: clang), so both compilers stay supported
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

jobs=$(nproc)
for preset in debug tsan clang; do
  echo "== ${preset}: configure and build"
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset" -j "$jobs"
  echo "== ${preset}: test"
  ctest --preset "$preset"
done
