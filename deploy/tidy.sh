#!/usr/bin/env bash
# Runs clang-tidy (.clang-tidy) over the product code (not tests, bench or fuzz targets) with the
# build's compile_commands.json and exits 1 on any finding, each listed once (headers by their
# source path, not the build tree's link); the whole output, notes and fix-its included, is left
# in $BUILD_DIR/tidy.log. Arguments, when given, name the files to check instead. BUILD_DIR
# defaults to build/, TIDY_JOBS to 2. Not part of .ci/run: it takes 4.5-8.5 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build}
[ -f "$build/compile_commands.json" ] || cmake -S . -B "$build" -G Ninja >/dev/null
build=$(cd "$build" && pwd)
log=$build/tidy.log
if [ $# -gt 0 ]; then
    files=("$@")  # only these (paths from the top), e.g. deploy/tidy.sh app/Cli.cpp
else
    mapfile -t files < <(git ls-files 'base/*.cpp' 'proto/*.cpp' 'config/*.cpp' 'net/*.cpp' 'delivery/*.cpp' \
        'collector/*.cpp' 'schedules/*.cpp' 'app/*.cpp')
fi
status=0
run-clang-tidy -quiet -p "$build" -j "${TIDY_JOBS:-2}" "${files[@]/#/$PWD/}" >"$log" 2>&1 || status=$?
# run-clang-tidy always asks for colour; a header is reported once for every file that includes it.
findings=$(sed -e $'s/\x1b\\[[0-9;]*m//g' "$log" | grep -E '(warning|error):' |
    sed -e "s|^$build/include/[^/]*/||" -e "s|^$PWD/||" | sort -u || true)
if [ -n "$findings" ]; then
    printf '%s\n' "$findings" >&2
    echo "tidy: the $(printf '%s\n' "$findings" | wc -l) finding(s) above break .clang-tidy's rules (details: $log)" >&2
    exit 1
fi
if [ "$status" -ne 0 ]; then
    tail -n 20 "$log" >&2
    echo "tidy: run-clang-tidy failed (exit $status) without a finding; see $log" >&2
    exit 1
fi
echo "tidy: ${#files[@]} files pass .clang-tidy"
