#!/usr/bin/env bash
# The project's test command (README "Run the tests"; .ci/run calls it too).
# It installs what the test tiers need, then runs every test of the workspace.
# Every tier's system packages are installed unconditionally (whatever the tests' text says):
#   - buildah, busybox-static: the real-builder tier (builds with buildah, checks the cache
#     predictions);
#   - chromium: the browser tier of the HTML reports;
#   - docker-registry, skopeo, apache2-utils (htpasswd), openssl (the test token server): the
#     registry tier;
#   - docker.io: ONE Docker Engine 20.10 daemon with its built-in BuildKit, on a private
#     socket with its data under a temporary directory, for the BuildKit tier
#     (tests/buildkit.rs) and the tests that read images from a daemon. Tests find it
#     through LAYERSCOPE_DOCKER_HOST; it is stopped by PID when this script exits, also on
#     failure (below);
#   - tmux: the interactive `explore` tier;
#   - git: the git tiers (`simulate --git`, `churn`, context changes from git);
#   - bsdutils (util-linux `script`): the pseudo-terminal tier (colour and width on a tty).
# A package already present is not reinstalled. Without root or apt-get nothing is installed
# and the tiers skip with a message, unless CI's LAYERSCOPE_REQUIRE_* switches (.ci/run) make
# a missing tool a failure.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(buildah busybox-static chromium docker-registry skopeo apache2-utils openssl tmux git bsdutils)
need=()
for p in "${packages[@]}"; do
  dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "test.sh: installing ${need[*]}"
    apt-get update -qq >/dev/null 2>&1 || true
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "test.sh: cannot install ${need[*]} (needs root and apt-get); those tiers will be skipped"
  fi
fi

# The Docker Engine (Debian's docker.io: dockerd and the /usr/bin/docker client, BuildKit
# built in), without its recommends (the daemon needs none of them here). Flags as in the
# engines reference: vfs storage (no overlay mounts needed), no iptables, no bridge (builds
# run with --network=none).
if ! dpkg-query -W -f '${Status}' docker.io 2>/dev/null | grep -q "install ok installed"; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "test.sh: installing docker.io"
    apt-get update -qq >/dev/null 2>&1 || true
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker.io >/dev/null
  else
    echo "test.sh: cannot install docker.io (needs root and apt-get); the daemon tiers will be skipped"
  fi
fi
dockerd_pid=
dockerd_dir=
stop_dockerd() {
  if [ -n "$dockerd_pid" ] && kill -0 "$dockerd_pid" 2>/dev/null; then
    kill -TERM "$dockerd_pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$dockerd_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$dockerd_pid" 2>/dev/null || true
    wait "$dockerd_pid" 2>/dev/null || true
  fi
  if [ -n "$dockerd_dir" ]; then rm -rf "$dockerd_dir" 2>/dev/null || true; fi
}
trap stop_dockerd EXIT
if [ "$(id -u)" = 0 ] && command -v dockerd >/dev/null && [ -x /usr/bin/docker ]; then
  dockerd_dir=$(mktemp -d "${TMPDIR:-/tmp}/layerscope-dockerd.XXXXXX")
  sock="unix://$dockerd_dir/docker.sock"
  dockerd --data-root "$dockerd_dir/root" --exec-root "$dockerd_dir/exec" -H "$sock" \
    --pidfile "$dockerd_dir/docker.pid" --storage-driver vfs --iptables=false \
    --ip-masq=false --bridge=none >"$dockerd_dir/dockerd.log" 2>&1 &
  dockerd_pid=$!
  for _ in $(seq 1 300); do
    if DOCKER_HOST=$sock /usr/bin/docker version --format '{{.Server.Version}}' >/dev/null 2>&1; then
      break
    fi
    kill -0 "$dockerd_pid" 2>/dev/null || break
    sleep 0.1
  done
  if DOCKER_HOST=$sock /usr/bin/docker version --format '{{.Server.Version}}' >/dev/null 2>&1; then
    # The base of the BuildKit scenarios and fixtures, from the repository (no network).
    DOCKER_HOST=$sock /usr/bin/docker load -q -i tests/fixtures/real/busybox-base/image.docker.tar
    export LAYERSCOPE_DOCKER_HOST=$sock
    echo "test.sh: dockerd (pid $dockerd_pid) on $sock"
  else
    echo "test.sh: dockerd did not answer; the daemon tiers will be skipped. Its log:"
    tail -n 20 "$dockerd_dir/dockerd.log" || true
  fi
else
  echo "test.sh: cannot start dockerd (needs root and docker.io); the daemon tiers will be skipped"
fi

# Unit, integration, CLI, example-build and doc tests of every package.
cargo test --workspace --locked "$@"

# A time-boxed fuzz round (layerscope-core/tests/fuzz.rs): every target runs new random
# cases for LAYERSCOPE_FUZZ_SECS seconds (default 12; six targets on two test threads, about
# 40 s in all; 0 skips the round). A failure is shrunk and kept under
# layerscope-core/tests/fuzz/regressions/; the seed is printed so that LAYERSCOPE_FUZZ_SEED=S
# replays the round.
fuzz_secs=${LAYERSCOPE_FUZZ_SECS:-12}
if [ "$fuzz_secs" != 0 ]; then
  echo "test.sh: fuzz round, ${fuzz_secs} s per target"
  fuzz_log=$(mktemp "${TMPDIR:-/tmp}/layerscope-fuzz.XXXXXX")
  fuzz_status=0
  LAYERSCOPE_FUZZ_SECS=$fuzz_secs cargo test -p layerscope-core --test fuzz --locked -- \
    --test-threads=2 --nocapture >"$fuzz_log" 2>&1 || fuzz_status=$?
  # The shrinking prints every panic it meets: show the summaries, and the end on failure.
  grep -E '^(fuzz |test |test result)|kept as' "$fuzz_log" || true
  if [ "$fuzz_status" != 0 ]; then
    tail -n 80 "$fuzz_log"
    rm -f "$fuzz_log"
    exit "$fuzz_status"
  fi
  rm -f "$fuzz_log"
fi
