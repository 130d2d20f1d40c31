#!/usr/bin/env bash
# Builds and runs every test (unit and integration; integration tests start real servers).
set -euo pipefail
cd "$(dirname "$0")/.."
./deploy/build.sh
cd build
ctest --output-on-failure -j "$(nproc)" --timeout 900
