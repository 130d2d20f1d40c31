#!/usr/bin/env bash
# CI's second line of defence: every unit test under ASan+UBSan (gcc), then each libFuzzer target
# (clang) for a bounded time from its seed corpus. FUZZ_SECONDS sets the time per target.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
FUZZ_SECONDS=${FUZZ_SECONDS:-15}
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)

sanitize="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
[ -f build-asan/CMakeCache.txt ] || cmake -S . -B build-asan "${generator[@]}" -DCMAKE_BUILD_TYPE=Debug \
    -DCMAKE_CXX_FLAGS="-O1 $sanitize" -DCMAKE_EXE_LINKER_FLAGS="$sanitize"
unit_targets=$(cmake --build build-asan --target help | sed -n 's/^\(mc_unit_[a-z]*_tests\):.*/\1/p')
cmake --build build-asan -j "$(nproc)" --target $unit_targets
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS=suppressions="$root/deploy/lsan.supp" \
    UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --output-on-failure -j "$(nproc)" -R '^unit\.')

[ -f build-fuzz/CMakeCache.txt ] || cmake -S . -B build-fuzz "${generator[@]}" -DCMAKE_CXX_COMPILER=clang++ \
    -DMC_FUZZ=ON -DMC_BUILD_TESTS=ON
fuzz_targets=$(sed -n 's/^ *\(fuzz_[a-z0-9_]*\)$/\1/p; s/^ *\(fuzz_[a-z0-9_]*\))$/\1/p' tests/fuzz/CMakeLists.txt)
cmake --build build-fuzz -j "$(nproc)" --target $fuzz_targets
for target in $fuzz_targets; do
    corpus=$(mktemp -d)
    cp tests/fuzz/corpus/"$target"/* "$corpus"/ 2>/dev/null || true
    echo "fuzzing $target for ${FUZZ_SECONDS}s"
    ./build-fuzz/tests/fuzz/"$target" -max_total_time="$FUZZ_SECONDS" -print_final_stats=0 "$corpus" \
        > "build-fuzz/$target.log" 2>&1 || { tail -50 "build-fuzz/$target.log"; exit 1; }
    rm -rf "$corpus"
done
echo "sanitizer unit tests and ${FUZZ_SECONDS}s fuzzing per target: no findings"
