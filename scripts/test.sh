#!/usr/bin/env bash
# The project's test command (README "Run the tests"; .ci/run calls it too).
# It installs what the test tiers need, then runs every test of the workspace.
# Every tier's system packages are installed unconditionally (whatever the tests' text says):
#   - buildah, busybox-static: the real-builder tier (builds with buildah, checks the cache
#     predictions);
#   - chromium: the browser tier of the HTML reports;
#   - docker-registry, skopeo, apache2-utils (htpasswd): the registry tier;
#   - docker.io: the Docker daemon tier; tmux: the interactive `explore` tier;
#   - git: the git tiers (`simulate --git`, `churn`, context changes from git);
#   - bsdutils (util-linux `script`): the pseudo-terminal tier (colour and width on a tty).
# A package already present is not reinstalled. Without root or apt-get nothing is installed
# and the tiers skip with a message, unless CI's LAYERSCOPE_REQUIRE_* switches (.ci/run) make
# a missing tool a failure.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(buildah busybox-static chromium docker-registry skopeo apache2-utils tmux docker.io git bsdutils)
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

# Unit, integration, CLI, example-build and doc tests of every package.
cargo test --workspace --locked "$@"
