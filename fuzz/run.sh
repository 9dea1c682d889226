#!/usr/bin/env bash
# fuzz/run.sh: installs cargo-fuzz when missing (cargo install); runs every fuzz target for SECONDS each
# (default 60: about 15 minutes for the 14 targets, plus a first instrumented build of a few minutes).
#
# Usage: fuzz/run.sh [SECONDS_PER_TARGET] [TARGET...]   (default: every [[bin]] of fuzz/Cargo.toml)
#        FUZZ_RUNS=10000000 fuzz/run.sh 0 record capture   (a budget of executions instead of seconds)
#        FUZZ_MAX_LEN=8192 fuzz/run.sh …   (longest input libFuzzer makes, default 65536: shorter inputs run faster)
# Prints, per target, the executions, executions per second and crashes; exit status 1 if any target crashed.
# Each target's corpus starts from its checked-in regression inputs (fuzz/regressions/<target>/, written by
# fuzz/make-seeds and replayed by crates/fuzz-harness's test); a crash input found here belongs there too.
#
# cargo fuzz needs nightly-only flags; with no nightly toolchain the installed stable one is used with
# RUSTC_BOOTSTRAP=1 (FUZZ_TOOLCHAIN=nightly to choose one). No sanitizer: the code is safe Rust, and
# without ASan the targets run several times faster.
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:-${FUZZ_SECONDS:-60}}
shift || true
if [ $# -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(awk '/^\[\[bin\]\]/ { bin = 1 } bin && /^name = / { gsub(/"/, "", $3); print $3; bin = 0 }' Cargo.toml)
fi

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "== installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi
if [ -n "${FUZZ_TOOLCHAIN:-}" ]; then
    toolchain=("+$FUZZ_TOOLCHAIN")
else
    toolchain=()
    export RUSTC_BOOTSTRAP=1
fi

mkdir -p logs
declare -A execs rates crashes walls
status=0
for target in "${targets[@]}"; do
    mkdir -p "corpus/$target"
    [ -d "regressions/$target" ] && cp -n regressions/"$target"/* "corpus/$target/" 2>/dev/null || true
    if [ -n "${FUZZ_RUNS:-}" ]; then
        budget=(-runs="$FUZZ_RUNS")
        echo "== fuzzing $target for $FUZZ_RUNS executions"
    else
        budget=(-max_total_time="$seconds")
        echo "== fuzzing $target for ${seconds}s"
    fi
    log=logs/$target.log
    started=$SECONDS
    set +e
    cargo "${toolchain[@]}" fuzz run --sanitizer none --release "$target" "corpus/$target" -- \
        "${budget[@]}" -timeout=10 -max_len="${FUZZ_MAX_LEN:-65536}" -print_final_stats=1 >"$log" 2>&1
    rc=$?
    set -e
    walls[$target]=$((SECONDS - started))
    execs[$target]=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
    rates[$target]=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
    crashes[$target]=$(find "artifacts/$target" -type f \( -name 'crash-*' -o -name 'oom-*' -o -name 'timeout-*' \) 2>/dev/null | wc -l)
    if [ "$rc" -ne 0 ] || [ "${crashes[$target]}" -ne 0 ]; then
        status=1
        tail -30 "$log"
    fi
done

echo
printf '%-14s %14s %10s %8s %10s\n' target executions exec/s crashes wall_s
for target in "${targets[@]}"; do
    printf '%-14s %14s %10s %8s %10s\n' "$target" "${execs[$target]:-?}" "${rates[$target]:-?}" "${crashes[$target]}" "${walls[$target]}"
done
exit $status
