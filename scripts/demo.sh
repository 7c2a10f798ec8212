#!/usr/bin/env bash
# Installs what is missing, builds the release preset, and runs the main job:
# for now, the tutorial's asyncio programs rewritten with weft.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >&2
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)" >/dev/null
exec build/release/apps/weft/weft tour "$@"
