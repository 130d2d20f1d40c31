#!/usr/bin/env bash
# The ledger micro-benchmark (bench/ledger-bench.cpp) for one or more source trees, interleaved:
# each round runs every tree's binary once, and the medians over RUNS rounds are printed per
# tree. No servers; a SQLite file in LEDGER_DIR (its disk's fsync cost is part of the writes:
# use /dev/shm to see CPU only). Not a test, not in CI.
#
#   bench/ledger-bench.sh                          this tree (build/ must be built)
#   bench/ledger-bench.sh /work/old-tree .         an older tree beside this one
#
# Each tree needs `cmake --build build --target mc_ledger` done. Options (environment):
#   RUNS=5  MESSAGES=2000  READS=20000  LEDGER_DIR=/tmp
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RUNS=${RUNS:-5}
MESSAGES=${MESSAGES:-2000}
READS=${READS:-20000}
LEDGER_DIR=${LEDGER_DIR:-/tmp}
[ $# -gt 0 ] || set -- "$REPO"
WORK=$(mktemp -d "$LEDGER_DIR/ledger-bench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

binaries=()
for tree in "$@"; do
    tree=$(cd "$tree" && pwd)
    bin="$WORK/bench-$(basename "$tree")-${#binaries[@]}"
    g++ -std=c++20 -O2 -I"$tree" "$REPO/bench/ledger-bench.cpp" -o "$bin" \
        "$tree/build/collector/ledger/libmc_ledger.a" "$tree/build/proto/libmc_proto.a" \
        -lPocoDataSQLite -lPocoDataPostgreSQL -lPocoData -lPocoFoundation -lsqlite3 -lpq -lpthread
    binaries+=("$bin")
    echo "tree $tree: $(git -C "$tree" log -1 --format='%h %s' | cut -c1-80)"
done

for round in $(seq "$RUNS"); do
    for i in "${!binaries[@]}"; do
        "${binaries[$i]}" "$WORK/ledger.db" "$MESSAGES" "$READS" | sed "s/^/$i /" >> "$WORK/results"
    done
done

echo "medians of $RUNS interleaved runs ($MESSAGES messages, ledger in $LEDGER_DIR):"
for i in "${!binaries[@]}"; do
    echo "tree $i: ${@:$((i + 1)):1}"
    awk -v tree="$i" '$1 == tree { print $3, $4, $5 }' "$WORK/results" | sort -k1,1 -k2,2n |
        awk '{ values[$1] = values[$1] " " $2; unit[$1] = $3 }
             END { for (name in values) { n = split(substr(values[name], 2), v, " ");
                   printf "  %-18s %10s %s\n", name, v[int((n + 1) / 2)], unit[name] } }' | sort
done
