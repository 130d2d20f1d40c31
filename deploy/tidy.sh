#!/usr/bin/env bash
# Runs clang-tidy (.clang-tidy) over the product code (not tests, bench or fuzz targets) with the
# build's compile_commands.json; fails on any finding. BUILD_DIR defaults to build/.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build}
[ -f "$build/compile_commands.json" ] || cmake -S . -B "$build" -G Ninja >/dev/null
mapfile -t files < <(git ls-files 'base/*.cpp' 'proto/*.cpp' 'config/*.cpp' 'net/*.cpp' 'delivery/*.cpp' \
    'collector/*.cpp' 'schedules/*.cpp' 'app/*.cpp')
run-clang-tidy -quiet -p "$build" -j "${TIDY_JOBS:-2}" "${files[@]/#/$PWD/}" >/tmp/mc-tidy.$$ 2>&1 || {
    grep -E "(warning|error):" /tmp/mc-tidy.$$ | sort -u >&2
    rm -f /tmp/mc-tidy.$$
    echo "tidy: the findings above break .clang-tidy's rules" >&2
    exit 1
}
rm -f /tmp/mc-tidy.$$
echo "tidy: ${#files[@]} files pass .clang-tidy"
