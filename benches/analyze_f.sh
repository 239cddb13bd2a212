#!/usr/bin/env bash
# `analyze` against `analyze -f Dockerfile` on one image: the cost of the Dockerfile
# attribution (and of the recommendations that come with -f), with the figures computed once.
#
#   benches/analyze_f.sh IMAGE.tar [BINARY] [RUNS]
#
# IMAGE.tar is a docker-archive (e.g. `python3 benches/gen_images.py --preset many`). Its
# Dockerfile is written from the image's own config history, one instruction per history
# entry (BuildKit's `RUN /bin/sh -c X # buildkit` -> `RUN X`, the base `ADD file:<id> in /`
# -> `ADD base.tar /`), so that every layer is matched to a line. Wall time, CPU time
# (user + system) and peak RSS of each run come from GNU time (release build:
# cargo build --release -p layerscope-cli).
#
# Before and after a change: run it once per binary on the same image, e.g.
#   python3 benches/gen_images.py --preset many --out /tmp/many.tar
#   benches/analyze_f.sh /tmp/many.tar /path/to/old/layerscope 3
#   benches/analyze_f.sh /tmp/many.tar target/release/layerscope 3
# A quick check that it runs end to end (2,000 files instead of 200,000):
#   python3 benches/gen_images.py --preset many --files 2000 --bytes 3MB --whiteouts 60 \
#       --out /tmp/many-small.tar
#   benches/analyze_f.sh /tmp/many-small.tar target/debug/layerscope 1
set -euo pipefail
image=${1:?usage: analyze_f.sh IMAGE.tar [BINARY] [RUNS]}
bin=${2:-target/release/layerscope}
runs=${3:-3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

config=$(tar -xOf "$image" manifest.json | jq -r '.[0].Config')
{
    echo "FROM scratch"
    tar -xOf "$image" "$config" | jq -r '.history[] | select(.empty_layer != true) | .created_by' |
        sed -E -e 's|^/bin/sh -c #\(nop\) ADD file:[0-9a-f]+ in /.*$|ADD base.tar /|' \
            -e 's|^RUN /bin/sh -c (.*) # buildkit$|RUN \1|'
} >"$work/Dockerfile"
echo "Dockerfile ($(wc -l <"$work/Dockerfile") lines) from the history:" >&2
head -3 "$work/Dockerfile" >&2

measure() {
    local label=$1
    shift
    for i in $(seq "$runs"); do
        /usr/bin/time -f "$label	%e s wall	%U s user	%S s sys	%M KiB max RSS" "$bin" "$@" --format json --output "$work/out.json" 2>>"$work/times" >/dev/null
    done
}
measure analyze analyze "$image" --no-progress
measure analyze-f analyze "$image" --no-progress -f "$work/Dockerfile"
echo "binary: $bin ($("$bin" --version))"
cat "$work/times"
echo "lines attributed: $(jq '[.attribution.instructions[] | select(.layers | length > 0)] | length' "$work/out.json")" \
    "unmatched layers: $(jq -c '.attribution.unmatched_layers' "$work/out.json")"
