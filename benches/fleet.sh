#!/usr/bin/env bash
# Fleet benchmark (see benches/README.md). Release build; inputs from examples/fleet_gen.rs.
#
#   benches/fleet.sh [--runs N] [--workdir DIR] [--synthetic-dir DIR] [--sizes "100 250 500 1000"]
#                    [--synthetic-only] [--files "200000 18000"] [--debug]
#
# 1. 100 OCI images (gzip layers) on 3 bases and 5 runtimes, 108 distinct layers:
#    - baseline: `analyze` of one image holding every distinct layer once (read each unique
#      layer once with the same reader);
#    - `fleet --cache` cold (empty cache), then warm (same cache);
#    targets: cold <= 1.2 x baseline, warm < 5% of cold.
# 2. Synthetic fleets whose layers exist only as summaries, one size per entry of --sizes
#    (images; 100 images = 2 million file records, 1,000 = 20 million): `fleet --summaries`
#    records, wall seconds, CPU seconds (user+sys), wall and CPU microseconds per record and
#    peak RSS, in one table; targets: per-record cost flat across sizes (linear), peak RSS
#    under 2 GB at 20 million. Summaries (about 2.5 GB at 20 million records) go to
#    --synthetic-dir (default /dev/shm when it exists: RAM, not disk) and are deleted after
#    each size. --synthetic-only skips part 1; --files sets the files per base and per app
#    layer; --debug uses a debug build (to check the script end to end, not to measure).
# Times are the best of N runs (default 3; CPU time of the same run); RSS is the largest.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WORK=${BENCH_DIR:-/tmp/layerscope-fleet-bench}
RUNS=3
SIZES="100 250 500 1000"
PART1=1
FILES="200000 18000"
PROFILE=release
SYN=$([ -d /dev/shm ] && echo /dev/shm/layerscope-fleet-synthetic || echo "$WORK/synthetic")
while [ $# -gt 0 ]; do
    case $1 in
        --runs) RUNS=$2; shift 2 ;;
        --workdir) WORK=$2; shift 2 ;;
        --sizes) SIZES=$2; shift 2 ;;
        --synthetic-dir) SYN=$2; shift 2 ;;
        --synthetic-only) PART1=0; shift ;;
        --files) FILES=$2; shift 2 ;;
        --debug) PROFILE=debug; shift ;;
        *) sed -n '2,22p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 2 ;;
    esac
done
mkdir -p "$WORK"
FLAG=$([ "$PROFILE" = release ] && echo --release || true)
(cd "$ROOT" && cargo build $FLAG --locked -q -p layerscope-cli && cargo build $FLAG --locked -q -p layerscope --example fleet_gen)
LS=$ROOT/target/$PROFILE/layerscope
GEN=$ROOT/target/$PROFILE/examples/fleet_gen
TIMES=$WORK/time.out

# best_of CMD...: prints "wall_seconds cpu_seconds max_rss_kb": the best wall time over $RUNS
# runs, the CPU time (user+sys) of that run, and the largest RSS of all runs.
best_of() {
    local best="" cpu="" rss=0 t u s m
    for _ in $(seq "$RUNS"); do
        [ -n "${BEFORE:-}" ] && eval "$BEFORE"
        /usr/bin/time -f "%e %U %S %M" -o "$TIMES" "$@" >/dev/null
        read -r t u s m < "$TIMES"
        if [ -z "$best" ] || awk "BEGIN{exit !($t < $best)}"; then
            best=$t
            cpu=$(awk "BEGIN{print $u + $s}")
        fi
        [ "$m" -gt "$rss" ] && rss=$m
    done
    echo "$best $cpu $rss"
}

echo "machine: $(nproc) cores, $(awk '/MemTotal/{printf "%.1f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"

# Part 1
if [ "$PART1" = 1 ]; then
R=$WORK/real
if [ ! -d "$R/union" ]; then
    echo "generating 100 images in $R ..."
    "$GEN" real "$R" 100
fi
IMAGES=("$R"/img*)
UNION_BYTES=$(du -sbL "$R/pool" | cut -f1)
read -r base _ base_rss < <(best_of "$LS" analyze "$R/union" --format json -o /dev/null --no-progress)
CACHE=$WORK/cache
read -r cold _ cold_rss < <(BEFORE="rm -rf '$CACHE'" best_of "$LS" fleet "${IMAGES[@]}" --cache "$CACHE" --format json -o /dev/null --no-progress)
read -r warm _ warm_rss < <(best_of "$LS" fleet "${IMAGES[@]}" --cache "$CACHE" --format json -o /dev/null --no-progress)
"$LS" fleet "${IMAGES[@]}" --cache "$CACHE" --format json -o "$WORK/fleet.json"
echo
echo "1. ${#IMAGES[@]} images, $(jq .totals.unique_layers "$WORK/fleet.json") distinct layers, $UNION_BYTES compressed bytes in the pool"
echo "   sum of image sizes $(jq .totals.size_bytes "$WORK/fleet.json") bytes, each layer once $(jq .totals.unique_size_bytes "$WORK/fleet.json"), cross-layer duplicates $(jq .totals.cross_layer_duplicate_bytes "$WORK/fleet.json")"
printf "   analyze union (each layer once): %6.2f s  %6d MB RSS\n" "$base" $((base_rss / 1024))
printf "   fleet, cold cache:               %6.2f s  %6d MB RSS  ratio %.2f (target <= 1.2)\n" "$cold" $((cold_rss / 1024)) "$(awk "BEGIN{print $cold/$base}")"
printf "   fleet, warm cache:               %6.2f s  %6d MB RSS  %.1f%% of cold (target < 5%%)\n" "$warm" $((warm_rss / 1024)) "$(awk "BEGIN{print 100*$warm/$cold}")"

fi

# Part 2
echo
echo "2. synthetic fleets, summaries only (fleet --summaries):"
printf "   %6s %12s %9s %9s %10s %10s %9s\n" images records wall_s cpu_s wall_us/rec cpu_us/rec rss_MB
mkdir -p "$SYN"
trap 'rm -rf "$SYN"' EXIT
for n in $SIZES; do
    S=$SYN/syn$n
    rm -rf "$S"
    # shellcheck disable=SC2086 # two numbers
    "$GEN" synthetic "$S" "$n" $FILES > "$S.gen.txt"
    ls -d "$S"/img* > "$S.list"
    records=$(awk '{print $(NF-2)}' "$S.gen.txt")
    read -r t cpu rss < <(best_of "$LS" fleet --from "$S.list" --summaries "$S/summaries" --format json -o /dev/null --no-progress)
    printf "   %6d %12d %9.2f %9.2f %10.2f %10.2f %9d\n" \
        "$n" "$records" "$t" "$cpu" "$(awk "BEGIN{print 1e6*$t/$records}")" \
        "$(awk "BEGIN{print 1e6*$cpu/$records}")" $((rss / 1024))
    rm -rf "$S" "$S.list" "$S.gen.txt"
done
