#!/usr/bin/env bash
# Benchmark: `layerscope simulate` on a 100,000-file build context (issue target: under 1 s,
# hashing only the files some step selects). Generates the context once under
# ${BENCH_DIR:-/tmp/layerscope-bench}/ctx100k, then times three simulations:
#   - a change under src/ reached by `COPY src/ ./src/` (a narrow selection),
#   - a change reached only by `COPY . .` (the whole context is selected),
#   - an ignored file (node_modules/, excluded by .dockerignore).
# Then a chain of stages (`FROM s<i-1> AS s<i>` + `RUN`, 1,000 to 4,000 stages; STAGES to
# change the sizes) where a change to the first stage's COPY rebuilds every stage: the time
# must grow about linearly with the number of stages. Last, `recommend` on the same chain
# with an app stage on top (`COPY . .` before `RUN npm install`): the split-dependency-copy
# rewrite is priced by simulating every context file through the whole chain, before and
# after, so its time must grow about linearly too.
# Usage: benches/simulate_context.sh   (LAYERSCOPE=path to the binary, default release build)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${LAYERSCOPE:-target/release/layerscope}
[ -x "$BIN" ] || cargo build --release -p layerscope-cli
DIR=${BENCH_DIR:-/tmp/layerscope-bench}/ctx100k
if [ ! -f "$DIR/.done" ]; then
  rm -rf "$DIR"; mkdir -p "$DIR"
  python3 - "$DIR" <<'PY'
import os, sys
root = sys.argv[1]
n = 0
for top, count in (("src", 20000), ("node_modules", 60000), ("assets", 20000)):
    for i in range(count):
        d = os.path.join(root, top, f"d{i // 200:04d}")
        if i % 200 == 0:
            os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, f"f{i:06d}.txt"), "w") as f:
            f.write(f"{top} {i}\n" * 4)
        n += 1
with open(os.path.join(root, "package.json"), "w") as f:
    f.write('{"name": "bench", "dependencies": {"left-pad": "1.3.0"}}\n')
with open(os.path.join(root, ".dockerignore"), "w") as f:
    f.write("node_modules\n")
with open(os.path.join(root, "Dockerfile"), "w") as f:
    f.write("FROM scratch\nWORKDIR /app\nCOPY package.json ./\nRUN install-deps\nCOPY src/ ./src/\nCOPY . .\nCMD [\"/app/run\"]\n")
print(f"generated {n} files")
PY
  touch "$DIR/.done"
fi
echo "machine: $(nproc) cpus, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "context: $(find "$DIR" -type f | wc -l) files"
for change in src/d0003/f000700.txt assets/d0010/f002100.txt node_modules/d0001/f000300.txt; do
  best=""
  for _ in 1 2 3; do
    t=$( { /usr/bin/time -f '%e %M' "$BIN" simulate -f "$DIR/Dockerfile" --context "$DIR" --changed "$change" --format json > /tmp/simulate-bench.json; } 2>&1 | tail -1)
    if [ -z "$best" ] || awk -v a="${t%% *}" -v b="${best%% *}" 'BEGIN{exit !(a<b)}'; then best=$t; fi
  done
  steps=$(python3 -c 'import json;print(",".join(str(s["line"]) for s in json.load(open("/tmp/simulate-bench.json"))["changes"][0]["rebuilt_steps"]))')
  printf '%-34s %6s s %7s KB   rebuilt lines: %s\n' "$change" "${best%% *}" "${best##* }" "${steps:-none}"
done

# The stage chain. Every stage rebuilds, so the report has one step per stage.
for n in ${STAGES:-1000 2000 3000 4000}; do
  CHAIN=${BENCH_DIR:-/tmp/layerscope-bench}/chain$n
  if [ ! -f "$CHAIN/Dockerfile" ]; then
    mkdir -p "$CHAIN"
    echo v1 > "$CHAIN/app.txt"
    python3 - "$n" "$CHAIN/Dockerfile" <<'PY'
import sys
n, out = int(sys.argv[1]), sys.argv[2]
lines = ["FROM scratch AS s0", "COPY app.txt /app.txt"]
for i in range(1, n):
    lines += [f"FROM s{i-1} AS s{i}", f"RUN echo {i}"]
open(out + ".partial", "w").write("\n".join(lines) + "\n")
PY
    mv "$CHAIN/Dockerfile.partial" "$CHAIN/Dockerfile"
  fi
  best=""
  for _ in 1 2 3; do
    t=$( { /usr/bin/time -f '%e %M' "$BIN" simulate -f "$CHAIN/Dockerfile" --context "$CHAIN" --changed app.txt --format json > /tmp/simulate-bench.json; } 2>&1 | tail -1)
    if [ -z "$best" ] || awk -v a="${t%% *}" -v b="${best%% *}" 'BEGIN{exit !(a<b)}'; then best=$t; fi
  done
  steps=$(python3 -c 'import json;print(len(json.load(open("/tmp/simulate-bench.json"))["changes"][0]["rebuilt_steps"]))')
  [ "$steps" = "$n" ] || { echo "chain of $n stages: expected $n rebuilt steps, got $steps" >&2; exit 1; }
  printf 'chain of %-5s stages               %6s s %7s KB   rebuilt steps: %s\n' "$n" "${best%% *}" "${best##* }" "$steps"
done

# recommend on the chain: the target stage copies package.json with the sources before the
# install, so split-dependency-copy is found and priced (4 context files, each simulated
# through every stage, on the Dockerfile as given and on the rewrite).
for n in ${STAGES:-1000 2000 3000 4000}; do
  CHAIN=${BENCH_DIR:-/tmp/layerscope-bench}/recommend-chain$n
  if [ ! -f "$CHAIN/Dockerfile" ]; then
    mkdir -p "$CHAIN/src"
    echo v1 > "$CHAIN/app.txt"
    echo '{"name": "bench"}' > "$CHAIN/package.json"
    echo a > "$CHAIN/src/a.js"
    echo b > "$CHAIN/src/b.js"
    python3 - "$n" "$CHAIN/Dockerfile" <<'PY'
import sys
n, out = int(sys.argv[1]), sys.argv[2]
lines = ["FROM scratch AS s0", "COPY app.txt /app.txt"]
for i in range(1, n):
    lines += [f"FROM s{i-1} AS s{i}", f"RUN echo {i}"]
lines += [f"FROM s{n-1} AS app", "WORKDIR /app", "COPY . .", "RUN npm install"]
open(out + ".partial", "w").write("\n".join(lines) + "\n")
PY
    mv "$CHAIN/Dockerfile.partial" "$CHAIN/Dockerfile"
  fi
  best=""
  for _ in 1 2 3; do
    t=$( { /usr/bin/time -f '%e %M %U %S' "$BIN" recommend -f "$CHAIN/Dockerfile" --context "$CHAIN" --format json > /tmp/recommend-bench.json; } 2>&1 | tail -1)
    if [ -z "$best" ] || awk -v a="${t%% *}" -v b="${best%% *}" 'BEGIN{exit !(a<b)}'; then best=$t; fi
  done
  codes=$(python3 -c 'import json;print(",".join(f["code"] for f in json.load(open("/tmp/recommend-bench.json"))["recommendations"]))')
  [ "$codes" = "split-dependency-copy" ] || { echo "recommend on a chain of $n stages: expected split-dependency-copy, got ${codes:-nothing}" >&2; exit 1; }
  read -r wall kb user sys <<<"$best"
  printf 'recommend, chain of %-5s stages     %6s s %7s KB   cpu %s s   findings: %s\n' "$n" "$wall" "$kb" "$(awk -v u="$user" -v s="$sys" 'BEGIN{printf "%.2f", u+s}')" "$codes"
done
