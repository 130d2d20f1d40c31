#!/usr/bin/env bash
# Fails when a module includes a header of a module it may not use (README "Layout"): the build
# refuses most such includes already (each target sees only the headers of what it links); this
# also catches them in headers no target compiles yet, in a second.
set -euo pipefail
cd "$(dirname "$0")/.."
# module folder -> the folders its files may include from (besides its own)
declare -A allowed=(
    [base]=""
    [proto]=""
    [config]="proto"
    [net]="proto base"
    [delivery]="net proto base"
    [collector/ledger]="proto base"
    [collector]="config net delivery proto base"
    [schedules]="collector config net delivery proto base"
    [app]="schedules collector config net delivery proto base"
)
status=0
for module in "${!allowed[@]}"; do
    files=$(git ls-files "$module/*.cpp" "$module/*.hpp")
    [ -n "$files" ] || continue
    # The folders each file includes from: "collector/ledger" for ledger headers, else the first.
    while IFS=: read -r file line include; do
        folder=${include%%/*}
        [[ $include == collector/ledger/* ]] && folder=collector/ledger
        own=$module
        [[ $module == collector && $file == collector/ledger/* ]] && own=collector/ledger
        [ "$folder" = "$own" ] && continue
        [ "$own" = collector ] && [ "$folder" = collector/ledger ] && continue
        ok=no
        for dependency in ${allowed[$own]}; do
            # The ledger is part of the collector module's folder: who may use collector/ may use it.
            [ "$folder" = "$dependency" ] || [ "$folder/$dependency" = collector/ledger/collector ] && ok=yes
        done
        if [ $ok = no ]; then
            echo "$file:$line: includes \"$include\": $own/ may not use $folder/ (README \"Layout\")" >&2
            status=1
        fi
    done < <(grep -Hn -o '^#include "[a-z_]*/[^"]*"' $files | sed 's/#include "\(.*\)"/\1/')
done
[ $status = 0 ] && echo "check-layout: every module includes only what it may use"
exit $status
