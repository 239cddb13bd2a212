#!/usr/bin/env bash
# The project's test command (README "Run the tests"; .ci/run calls it too).
# It installs what the test tiers need, then runs every test of the workspace.
#   - buildah, busybox-static: the real-builder tier (tests that build images with buildah
#     and check layerscope's cache predictions); skipped with a message when the package
#     cannot be installed (no root, no apt).
#   - chromium: the browser tier of the HTML report, when present in the workspace.
#   - tmux: the explorer's real-terminal tier.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
if [ -d tests/buildah ] || grep -rqs "LAYERSCOPE_BUILDAH" tests layerscope-cli/tests 2>/dev/null; then
  command -v buildah >/dev/null || need+=(buildah)
  command -v busybox >/dev/null || [ -x /bin/busybox ] || need+=(busybox-static)
fi
if [ -d tests/browser ] || grep -rqs "LAYERSCOPE_CHROMIUM" tests layerscope-cli/tests 2>/dev/null; then
  command -v chromium >/dev/null || need+=(chromium)
fi
# tmux: the explorer's real-terminal tier (layerscope-cli/tests/explore_tmux.rs), always.
command -v tmux >/dev/null || need+=(tmux)
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
