#!/usr/bin/env bash
# Golden outputs: run every command of a `layerscope` binary over the repository's real
# fixtures and store what it prints (stdout, stderr, exit code, files it writes), so that a
# refactoring can be checked to change no output byte.
#
#   scripts/golden.sh record DIR [BINARY]    # write the outputs to DIR
#   scripts/golden.sh compare DIR [BINARY]   # run again into a temp dir and diff against DIR
#
# BINARY defaults to target/release/layerscope (build it first with
# `cargo build --release -p layerscope-cli`). Run from the repository root.
set -euo pipefail

mode=${1:?usage: golden.sh record|compare DIR [BINARY]}
dir=${2:?usage: golden.sh record|compare DIR [BINARY]}
bin=${3:-target/release/layerscope}
bin=$(realpath "$bin")
root=$(pwd)

if [[ $mode == compare ]]; then
    out=$(mktemp -d)
else
    rm -rf "$dir"
    mkdir -p "$dir"
    out=$(realpath "$dir")
fi

export NO_COLOR=1 COLUMNS=120
export GIT_AUTHOR_NAME=golden GIT_AUTHOR_EMAIL=golden@example.invalid
export GIT_COMMITTER_NAME=golden GIT_COMMITTER_EMAIL=golden@example.invalid
export GIT_AUTHOR_DATE='2026-01-01T00:00:00Z' GIT_COMMITTER_DATE='2026-01-01T00:00:00Z'

work=$(mktemp -d)
cleanup() {
    rm -rf "$work"
    if [[ $mode == compare ]]; then rm -rf "$out"; fi
}
trap cleanup EXIT

# run NAME ARGS...: stdout, stderr and exit code of one invocation (stdin closed, cwd = root).
# Paths under the temp dirs are replaced so the outputs compare across runs.
run() {
    local name=$1
    shift
    local rc=0
    (cd "$root" && "$bin" "$@" </dev/null >"$out/$name.out" 2>"$out/$name.err") || rc=$?
    echo "$rc" >"$out/$name.rc"
    sed -i -e "s#$work#WORK#g" -e "s#$out#OUT#g" "$out/$name.out" "$out/$name.err"
}

demo=examples/demo/image.tar
real=tests/fixtures/real
imgs=(demo:$demo)
for f in busybox-base node-bad node-bad-squashed node-good nonroot overwrite-opaque; do
    imgs+=("$f:$real/$f/image.docker.tar")
done
imgs+=(oo-oci-gzip:$real/overwrite-opaque/image.oci-gzip.tar)
imgs+=(oo-oci-zstd:$real/overwrite-opaque/image.oci-zstd.tar)
imgs+=(oo-oci-layout:$real/overwrite-opaque/image.oci-layout)
for f in tests/fixtures/dive/*.tar; do
    n=$(basename "$f" .tar)
    imgs+=("dive-$n:$f")
done

for pair in "${imgs[@]}"; do
    n=${pair%%:*}
    img=${pair#*:}
    run "analyze-$n" analyze "$img"
    run "analyze-$n-json" analyze "$img" --format json
    run "analyze-$n-compat" analyze "$img" --format json --compat dive
    run "analyze-$n-html" analyze "$img" --format html --output "$out/analyze-$n.html"
    run "tree-$n" tree "$img"
    run "tree-$n-json" tree "$img" --format json
    run "tree-$n-l1" tree "$img" --layer 1 --changes-only
    run "recommend-$n" recommend "$img"
    run "recommend-$n-json" recommend "$img" --format json
    run "check-$n" check "$img" --config examples/ci/layerscope.toml
done

# With their Dockerfiles.
for n in node-bad node-good nonroot overwrite-opaque; do
    img=$real/$n/image.docker.tar
    df=$real/$n/Dockerfile
    run "analyze-$n-f" analyze "$img" -f "$df"
    run "analyze-$n-f-json" analyze "$img" -f "$df" --format json
    run "analyze-$n-f-html" analyze "$img" -f "$df" --format html --output "$out/analyze-$n-f.html"
    run "analyze-$n-f-lists" analyze "$img" -f "$df" --top 3 --path '**/*.js' --min-size 10
    run "recommend-$n-f" recommend "$img" -f "$df"
    run "recommend-$n-f-json" recommend "$img" -f "$df" --format json \
        --write-dockerfile "$out/recommend-$n.Dockerfile"
    run "recommend-$n-df-only" recommend -f "$df"
    run "check-$n-f-md" check "$img" --dockerfile "$df" --config examples/ci/layerscope.toml
    run "check-$n-f-all" check "$img" --dockerfile "$df" --config examples/ci/layerscope.toml \
        --format json --output "$out/check-$n.json" \
        --format sarif --output "$out/check-$n.sarif" \
        --format junit --output "$out/check-$n.junit.xml" \
        --format html --output "$out/check-$n.html" \
        --format markdown
done
run analyze-demo-f analyze $demo -f examples/demo/Dockerfile --context examples/demo/context
run analyze-demo-f-json analyze $demo -f examples/demo/Dockerfile --context examples/demo/context --format json
run analyze-nonroot-buildarg analyze $real/nonroot/image.docker.tar -f $real/nonroot/Dockerfile \
    --with-build-arg APP_VERSION=9 --format json
run analyze-base-layers analyze $real/node-good/image.docker.tar --base-layers 1
run analyze-base-image analyze $real/node-good/image.docker.tar --base $real/busybox-base/image.docker.tar --format json
run analyze-base-mismatch analyze $real/busybox-base/image.docker.tar --base $real/node-good/image.docker.tar
run recommend-list-codes recommend --list-codes
run recommend-list-codes-json recommend --list-codes --format json

# A gate with a baseline and recommendation rules.
cat >"$work/gate.toml" <<'EOF'
[rules]
max-growth-bytes = "1kB"
max-new-waste-bytes = "1"
max-layers = 5
deny-paths = ["**/*.sh"]

[recommendations]
cleanup-in-same-layer = "deny"
EOF
cp "$out/check-node-good.json" "$work/baseline.json"
run check-baseline check $real/node-bad/image.docker.tar --dockerfile $real/node-bad/Dockerfile \
    --config "$work/gate.toml" --baseline "$work/baseline.json"
run check-baseline-json check $real/node-bad/image.docker.tar --dockerfile $real/node-bad/Dockerfile \
    --config "$work/gate.toml" --baseline "$work/baseline.json" --format json
run check-baseline-sarif check $real/node-bad/image.docker.tar --dockerfile $real/node-bad/Dockerfile \
    --config "$work/gate.toml" --baseline "$work/baseline.json" --format sarif
run check-baseline-junit check $real/node-bad/image.docker.tar --dockerfile $real/node-bad/Dockerfile \
    --config "$work/gate.toml" --baseline "$work/baseline.json" --format junit
run check-analyze-baseline check $real/node-bad/image.docker.tar --config "$work/gate.toml" \
    --baseline "$out/analyze-node-good-json.out"

# diff
for fmt in table json; do
    run "diff-good-bad-$fmt" diff $real/node-good/image.docker.tar $real/node-bad/image.docker.tar --format $fmt
    run "diff-base-good-$fmt" diff $real/busybox-base/image.docker.tar $real/node-good/image.docker.tar --format $fmt
done
run diff-html diff $real/node-good/image.docker.tar $real/node-bad/image.docker.tar --format html --output "$out/diff.html"

# simulate
for n in node-bad node-good; do
    img=$real/$n/image.docker.tar
    df=$real/$n/Dockerfile
    for fmt in table json; do
        run "simulate-$n-$fmt" simulate "$img" -f "$df" --changed src/app.js --changed package.json --format $fmt
        run "simulate-$n-noimg-$fmt" simulate -f "$df" --changed index.js --format $fmt
    done
    run "simulate-$n-html" simulate "$img" -f "$df" --changed package.json --format html --output "$out/simulate-$n.html"
done
run simulate-nonroot-arg simulate $real/nonroot/image.docker.tar -f $real/nonroot/Dockerfile \
    --build-arg APP_VERSION=2 --format json
run simulate-demo simulate $demo -f examples/demo/Dockerfile --context examples/demo/context \
    --changed conf.d/a.conf
cp -r $real/node-good/context "$work/old-context"
echo '// changed' >>"$work/old-context/index.js"
run simulate-baseline-context simulate $real/node-good/image.docker.tar -f $real/node-good/Dockerfile \
    --baseline-context "$work/old-context" --format json

# churn, recommend --git-history and simulate --git over a small git history made here.
repo=$work/repo
cp -r $real/node-good/context "$repo"
cp $real/node-good/Dockerfile "$repo/Dockerfile"
(
    cd "$repo"
    git init -q -b main .
    git add -A && git commit -q -m one
    echo '// two' >>index.js && git commit -q -am two
    echo '{"name":"x","version":"2"}' >package.json && git commit -q -am three
    echo '// four' >>index.js && git commit -q -am four
    echo '// uncommitted' >>index.js
)
run churn-table churn $real/node-good/image.docker.tar -f "$repo/Dockerfile" --git-history 3
run churn-json churn $real/node-good/image.docker.tar -f "$repo/Dockerfile" --git-history 3 --format json
run simulate-git simulate $real/node-good/image.docker.tar -f "$repo/Dockerfile" --git HEAD~1 --format json
run recommend-git recommend $real/node-good/image.docker.tar -f "$repo/Dockerfile" --git-history 3 --format json

# Errors (exit 2, message).
run err-nonexistent analyze /nonexistent
run err-badtop analyze $demo --top -1
run err-badsize analyze $demo --min-size NaN
run err-html-tty-check tree $demo --layer 99
run err-sim-nothing simulate -f $real/node-good/Dockerfile
run err-config check $demo --config "$work/none.toml"

if [[ $mode == compare ]]; then
    if diff -r "$dir" "$out"; then
        echo "golden: identical ($(ls "$out" | wc -l) files)"
    else
        echo "golden: DIFFERENT" >&2
        exit 1
    fi
else
    echo "golden: recorded $(ls "$out" | wc -l) files in $dir"
fi
