#!/usr/bin/env bash
# Fails when a C++ file does not follow .clang-format; `deploy/check-format.sh --fix` rewrites them.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files '*.cpp' '*.hpp' '*.h')
if [ "${1:-}" = --fix ]; then
    clang-format -i "${files[@]}"
    exit 0
fi
if ! clang-format --dry-run --Werror "${files[@]}" 2>/tmp/mc-format.$$; then
    grep -o '^[^:]*:[0-9]*' /tmp/mc-format.$$ | sort -u | head -40 >&2
    rm -f /tmp/mc-format.$$
    echo "check-format: the files above do not follow .clang-format; run deploy/check-format.sh --fix" >&2
    exit 1
fi
rm -f /tmp/mc-format.$$
echo "check-format: ${#files[@]} files follow .clang-format"
