#!/usr/bin/env bash
# Installs what is missing, builds the release preset, and runs the main job:
# for now, the tutorial's asyncio programs rewritten with weft, then its aiohttp gallery
# download against the embedded demo site (issue 8 turns this into `weft crawl --demo`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >&2
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)" >/dev/null
for example in asyncio_old_loop asyncio_task_callbacks asyncio_gather http_gallery; do
  echo "== ${example}"
  "build/release/examples/example_${example}"
done
