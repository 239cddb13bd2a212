#!/usr/bin/env bash
# Build the Debian benchmark images from Debian packages, the way tests/fixtures/rebuild.sh
# builds the test fixtures (buildah, daemonless, docker-archive output):
#
#   debian-base    debootstrap --variant=minbase bookworm from deb.debian.org, tarred, then
#                  `FROM scratch` + `ADD rootfs.tar /`: one layer
#   debian-apt     debian-base + apt-get update / apt-get install / cleanup in three RUNs
#   debian-python  debian-base + Debian's python3 and a pip install into a venv
#
#   benches/debian_images.sh OUT_DIR     (root; installs debootstrap, buildah and jq via apt)
#
# Writes OUT_DIR/<name>.tar (docker-archive, uncompressed layers) and <name>.tar.meta.json
# (what benches/e2e.sh reads: format, image_bytes, files, whiteouts, gen_seconds). Needs
# network access to deb.debian.org (and PyPI for debian-python). Digests change on every
# build (timestamps); sizes and file counts change only with the Debian archive.
set -euo pipefail
OUT=${1:?usage: debian_images.sh OUT_DIR}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
SUITE=${DEBIAN_SUITE:-bookworm}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

need=()
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v buildah >/dev/null || need+=(buildah)
command -v jq >/dev/null || need+=(jq)
if ((${#need[@]})); then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/layerscope-debian.XXXXXX")
STORE=$WORK/store
B=(buildah --root "$STORE/root" --runroot "$STORE/run" --storage-driver vfs)
cleanup() {
    "${B[@]}" rm --all >/dev/null 2>&1 || true
    "${B[@]}" rmi --all --force >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT

meta() { # meta NAME SECONDS: sidecar for e2e.sh, counted from the layer tars themselves
    python3 - "$OUT/$1.tar" "$2" <<'PY'
import json, os, sys, tarfile
img, secs = sys.argv[1], float(sys.argv[2])
files = whiteouts = layers = 0
with tarfile.open(img) as outer:
    manifest = json.load(outer.extractfile("manifest.json"))
    for name in manifest[0]["Layers"]:
        layers += 1
        with tarfile.open(fileobj=outer.extractfile(name)) as layer:
            for m in layer:
                base = m.name.rsplit("/", 1)[-1]
                if base.startswith(".wh."):
                    whiteouts += 1
                elif m.isfile():
                    files += 1
json.dump({"format": "docker-archive", "image_bytes": os.path.getsize(img), "files": files,
           "whiteouts": whiteouts, "layers": layers, "gen_seconds": round(secs, 1)},
          open(img + ".meta.json", "w"))
PY
}

build() { # build NAME DOCKERFILE-TEXT [EXTRA-SECONDS] (context: $WORK/ctx)
    local name=$1 start=$SECONDS
    if [[ -f $OUT/$name.tar && -f $OUT/$name.tar.meta.json ]]; then
        echo "keeping $OUT/$name.tar"
        return
    fi
    printf '%s\n' "$2" >"$WORK/ctx/Dockerfile"
    "${B[@]}" bud --layers --format docker --isolation chroot --pull=never \
        -f "$WORK/ctx/Dockerfile" -t "localhost/$name" "$WORK/ctx" >"$WORK/$name.log" 2>&1 \
        || { tail -n 20 "$WORK/$name.log" >&2; echo "debian_images.sh: building $name failed" >&2; exit 2; }
    rm -f "$OUT/$name.tar.partial"
    "${B[@]}" push --quiet "localhost/$name" "docker-archive:$OUT/$name.tar.partial:localhost/$name:latest"
    mv "$OUT/$name.tar.partial" "$OUT/$name.tar"
    meta "$name" $((SECONDS - start + ${3:-0}))
    echo "built $OUT/$name.tar ($(du -m "$OUT/$name.tar" | cut -f1) MB)"
}

mkdir -p "$WORK/ctx"
# pip inside the build trusts what pip on this machine trusts (a TLS-inspecting proxy's CA,
# for instance): the bundle is bind-mounted into the one RUN, never stored in a layer.
cp "${PIP_CERT:-/etc/ssl/certs/ca-certificates.crt}" "$WORK/ctx/ca.crt"
start=$SECONDS
if [[ -f $OUT/debian-base.tar && -f $OUT/debian-base.tar.meta.json ]]; then
    echo "keeping $OUT/debian-base.tar (and building the others on it)"
    id=$("${B[@]}" pull --quiet "docker-archive:$OUT/debian-base.tar")
    "${B[@]}" tag "$id" localhost/debian-base
else
debootstrap --variant=minbase "$SUITE" "$WORK/rootfs" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 \
    || { tail -n 20 "$WORK/debootstrap.log" >&2; echo "debian_images.sh: debootstrap failed" >&2; exit 2; }
# What the official image also drops: the package cache and lists (apt-get update refills them).
rm -rf "$WORK/rootfs/var/cache/apt/archives/"*.deb "$WORK/rootfs/var/lib/apt/lists/"*
tar --numeric-owner --xattrs -C "$WORK/rootfs" -cf "$WORK/ctx/rootfs.tar" .
rm -rf "$WORK/rootfs"
boot=$((SECONDS - start))

build debian-base 'FROM scratch
ADD rootfs.tar /
CMD ["bash"]' "$boot"
fi

build debian-apt 'FROM localhost/debian-base
RUN apt-get update
RUN DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends curl ca-certificates git openssh-client gnupg
RUN rm -rf /var/lib/apt/lists/*'

build debian-python 'FROM localhost/debian-base
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 python3-venv && rm -rf /var/lib/apt/lists/*
RUN --mount=type=bind,source=ca.crt,target=/etc/pip-ca.crt python3 -m venv /opt/venv && PIP_CERT=/etc/pip-ca.crt /opt/venv/bin/pip install --no-cache-dir requests==2.32.3 PyYAML==6.0.2 Jinja2==3.1.4
COPY Dockerfile /opt/app/Dockerfile'
