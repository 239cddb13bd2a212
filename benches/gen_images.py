#!/usr/bin/env python3
"""Generate synthetic container image tarballs for the layerscope end-to-end benchmarks.

Two output layouts, both single tar files:

* default: the classic `docker save` docker-archive layout
      <id>/ <id>/VERSION <id>/json <id>/layer.tar ... <cfg-hex>.json manifest.json repositories
  with uncompressed layers; <cfg-hex> is the sha256 of the config bytes.
* --gzip: an OCI image layout tar as written by Docker 25+ with the containerd store
      oci-layout index.json manifest.json repositories blobs/sha256/<digest>
  with gzip-compressed layer blobs (application/vnd.oci.image.layer.v1.tar+gzip).

The image is streamed straight to disk: layer tars are written inside the outer tar with a
placeholder header that is patched once the layer digest and size are known, so memory use
stays small even for a 1 GB image.  File content comes from a 1 MiB deterministic block
(half incompressible, half text-like, some zero runs: gzip ratio about 0.6) read at a
per-file offset behind a per-file 16-byte prefix, so every file has a distinct hash while
generation stays I/O-bound.

Everything derives from --seed: two images with the same seed, layers, files and bytes
have identical file trees; only the whiteout entries differ (wh0 vs wh4000, big vs gz).

Next to the image a sidecar `<out>.meta.json` records what was generated (counts, digests,
timings); benches/e2e.sh reads it.  `--verify IMAGE` re-reads an image with the tarfile
module and checks digests, diff_ids, counts and that every whiteout hides an existing path.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import random
import sys
import tarfile
import time
import zlib

PRESETS = {
    # name: (layers, files, bytes, whiteouts, gzip)
    "big": dict(layers=10, files=20_000, bytes=1_000_000_000, whiteouts=600, gzip=False),
    "many": dict(layers=10, files=200_000, bytes=300_000_000, whiteouts=6_000, gzip=False),
    "wh0": dict(layers=5, files=20_000, bytes=100_000_000, whiteouts=0, gzip=False),
    "wh4000": dict(layers=5, files=20_000, bytes=100_000_000, whiteouts=4_000, gzip=False),
    "gz": dict(layers=10, files=20_000, bytes=1_000_000_000, whiteouts=600, gzip=True),
}

BLOCK = 1 << 20  # content source block
MTIME = 1_700_000_000  # fixed: outputs are byte-for-byte reproducible
ROOTS = [
    ("usr/lib", ".so", 0o755),
    ("usr/share", ".dat", 0o644),
    ("usr/local/lib", ".so", 0o755),
    ("opt/app/lib", ".py", 0o644),
    ("var/lib", ".db", 0o644),
]
ZERO_BLOCK = bytes(512)


# ----------------------------------------------------------------------------------------
# tar headers (hand-built ustar: ~10x faster than TarInfo.tobuf for 200k entries)


def _split_name(name: str) -> tuple[bytes, bytes]:
    raw = name.encode()
    if len(raw) <= 100:
        return raw, b""
    # ustar: prefix (<=155) + "/" + name (<=100)
    cut = raw.rfind(b"/", 0, 156)
    while cut > 0 and len(raw) - cut - 1 > 100:
        cut = raw.rfind(b"/", 0, cut)
    if cut <= 0 or len(raw) - cut - 1 > 100:
        raise ValueError(f"path too long for ustar: {name}")
    return raw[cut + 1 :], raw[:cut]


def tar_header(name: str, size: int, mode: int = 0o644, typeflag: bytes = b"0") -> bytes:
    if size >= 8**11:
        raise ValueError("member too large for ustar")
    nm, prefix = _split_name(name)
    h = bytearray(512)
    h[0 : len(nm)] = nm
    h[100:108] = b"%07o\0" % mode
    h[108:116] = b"0000000\0"
    h[116:124] = b"0000000\0"
    h[124:136] = b"%011o\0" % size
    h[136:148] = b"%011o\0" % MTIME
    h[148:156] = b"        "
    h[156:157] = typeflag
    h[257:265] = b"ustar\x0000"
    h[265:269] = b"root"
    h[297:301] = b"root"
    h[329:337] = b"0000000\0"
    h[337:345] = b"0000000\0"
    h[345 : 345 + len(prefix)] = prefix
    h[148:156] = b"%06o\0 " % sum(h)
    return bytes(h)


def pad_len(size: int) -> int:
    return (-size) % 512


# ----------------------------------------------------------------------------------------
# content


def make_block(seed: int) -> memoryview:
    """1 MiB of deterministic 'binary-like' content, doubled so any slice of up to
    BLOCK bytes starting below BLOCK is contiguous."""
    rng = random.Random(f"{seed}/content")
    words = [
        bytes(rng.choice(b"abcdefghijklmnopqrstuvwxyz_") for _ in range(rng.randint(3, 12)))
        for _ in range(512)
    ]
    page = 4096
    out = bytearray()
    while len(out) < BLOCK:
        r = rng.random()
        if r < 0.50:  # machine code / already-compressed data
            out += rng.randbytes(page)
        elif r < 0.90:  # symbol tables, strings, text
            chunk = bytearray()
            while len(chunk) < page:
                chunk += rng.choice(words)
                chunk += b" \n\0/."[rng.randrange(5) : rng.randrange(5) + 1] or b" "
            out += chunk[:page]
        else:  # zero padding / bss
            out += bytes(page)
    del out[BLOCK:]
    return memoryview(bytes(out) + bytes(out))


class Sink:
    """Buffers small writes, hashes the uncompressed stream, optionally gzips it,
    hashes what lands on disk and counts the bytes."""

    FLUSH = 1 << 20

    def __init__(self, f, gzip_level: int | None):
        self.f = f
        self.h = hashlib.sha256()  # uncompressed: diff_id
        self.raw_len = 0
        self.buf = bytearray()
        self.z = None
        if gzip_level is not None:
            # wbits=31: gzip container, mtime 0, deterministic
            self.z = zlib.compressobj(gzip_level, zlib.DEFLATED, 31, 9)
            self.hz = hashlib.sha256()
            self.z_len = 0

    def _emit(self, data) -> None:
        self.h.update(data)
        self.raw_len += len(data)
        if self.z is None:
            self.f.write(data)
        else:
            out = self.z.compress(data)
            if out:
                self.hz.update(out)
                self.z_len += len(out)
                self.f.write(out)

    def write(self, data) -> None:
        if len(data) >= 256 * 1024:
            if self.buf:
                self._emit(self.buf)
                self.buf = bytearray()
            self._emit(data)
        else:
            self.buf += data
            if len(self.buf) >= self.FLUSH:
                self._emit(self.buf)
                self.buf = bytearray()

    def close(self) -> tuple[str, int, str, int]:
        """Returns (diff_id hex, uncompressed len, blob digest hex, blob len)."""
        if self.buf:
            self._emit(self.buf)
            self.buf = bytearray()
        if self.z is None:
            d = self.h.hexdigest()
            return d, self.raw_len, d, self.raw_len
        out = self.z.flush()
        self.hz.update(out)
        self.z_len += len(out)
        self.f.write(out)
        return self.h.hexdigest(), self.raw_len, self.hz.hexdigest(), self.z_len


# ----------------------------------------------------------------------------------------
# planning: which files go where, which whiteouts hide what


def plan_image(layers: int, files: int, total_bytes: int, whiteouts: int, seed: int,
               dir_whiteouts: int | None, opaque: int | None):
    if layers < 1:
        sys.exit("--layers must be >= 1")
    if whiteouts and layers < 2:
        sys.exit("--whiteouts needs at least 2 layers (whiteouts live in upper layers)")
    if files < 1 and total_bytes:
        sys.exit("--bytes > 0 needs --files >= 1")

    rng = random.Random(f"{seed}/files")  # file plan independent of whiteouts
    wrng = random.Random(f"{seed}/whiteouts")

    # files per layer: base layer is the biggest
    weights = [2.5] + [rng.uniform(0.6, 1.4) for _ in range(layers - 1)]
    s = sum(weights)
    counts = [int(files * w / s) for w in weights]
    for i in range(files - sum(counts)):
        counts[i % layers] += 1

    # file sizes: log-normal, scaled to sum exactly to total_bytes
    raw = [rng.lognormvariate(0.0, 1.3) for _ in range(files)]
    rs = sum(raw) or 1.0
    sizes = [int(r * total_bytes / rs) for r in raw]
    rem = total_bytes - sum(sizes)
    for i in range(rem):
        sizes[i % files] += 1

    # whiteout mix
    if dir_whiteouts is None:
        dir_whiteouts = max(1, round(whiteouts * 0.02)) if whiteouts >= 5 else 0
    if opaque is None:
        opaque = min(max(1, whiteouts // 200), 5) if whiteouts >= 10 else 0
    if dir_whiteouts + opaque > whiteouts:
        sys.exit("--dir-whiteouts + --opaque exceed --whiteouts")

    def spread(total: int) -> list[int]:
        per = [0] * layers
        for i in range(total):
            per[1 + i % (layers - 1)] += 1
        return per

    if layers > 1:
        wh_per, dir_per, opq_per = spread(whiteouts), spread(dir_whiteouts), spread(opaque)
    else:
        wh_per = dir_per = opq_per = [0]

    live: dict[str, dict] = {}  # dir path -> {"layer": created, "files": {name: True}}
    plan = []
    fid = 0
    dir_idx = 0
    for li in range(layers):
        lfiles = []  # (path, size, fid, mode)
        n = counts[li]
        new_dirs = []
        while n > 0:
            root, ext, mode = ROOTS[dir_idx % len(ROOTS)]
            dpath = f"{root}/pkg{dir_idx:05d}"
            dir_idx += 1
            k = min(n, rng.randint(50, 200))
            names = {}
            for _ in range(k):
                name = f"file{fid:06d}{ext}"
                lfiles.append((f"{dpath}/{name}", sizes[fid], fid, mode))
                names[name] = True
                fid += 1
            new_dirs.append((dpath, names))
            n -= k

        wh_dirs, wh_opq, wh_files = [], [], []
        if wh_per[li]:
            eligible = [d for d, v in live.items() if v["files"]]
            wrng.shuffle(eligible)
            # never hide more than a fifth of the lower directories per kind and layer
            cap = max(1, len(eligible) // 5) if len(eligible) >= 2 else 0
            no = min(opq_per[li], cap)
            nd = min(dir_per[li], cap)
            wh_opq = sorted(eligible[:no])
            wh_dirs = sorted(eligible[no : no + nd])
            for d in wh_dirs:
                del live[d]
            for d in wh_opq:
                live[d]["files"] = {}
            nf = wh_per[li] - nd - no
            cand = [(d, f) for d, v in live.items() for f in v["files"]]
            if nf > len(cand):
                print(f"warning: layer {li}: only {len(cand)} files to delete, wanted {nf}",
                      file=sys.stderr)
                nf = len(cand)
            for d, f in wrng.sample(cand, nf):
                del live[d]["files"][f]
                wh_files.append(f"{d}/{f}")
            wh_files.sort()
        for dpath, names in new_dirs:
            live[dpath] = {"layer": li, "files": names}
        plan.append(dict(files=lfiles, wh_files=wh_files, wh_dirs=wh_dirs, wh_opq=wh_opq))
    return plan


def layer_entries(lp) -> list[tuple[str, str, int, int, int]]:
    """Sorted (path, kind, size, fid, mode) with kind d(ir), f(ile), w(hiteout)."""
    ents = {}
    for path, size, fid, mode in lp["files"]:
        ents[path] = ("f", size, fid, mode)
    for p in lp["wh_files"]:
        d, _, name = p.rpartition("/")
        ents[f"{d}/.wh.{name}"] = ("w", 0, -1, 0o644)
    for p in lp["wh_dirs"]:
        d, _, name = p.rpartition("/")
        ents[f"{d}/.wh.{name}"] = ("w", 0, -1, 0o644)
    for d in lp["wh_opq"]:
        ents[d] = ("d", 0, -1, 0o755)
        ents[f"{d}/.wh..wh..opq"] = ("w", 0, -1, 0o644)
    dirs = set()
    for p in list(ents):
        parts = p.split("/")
        for i in range(1, len(parts)):
            dirs.add("/".join(parts[:i]))
    for d in dirs:
        if d not in ents:
            ents[d] = ("d", 0, -1, 0o755)
    return [(p, *ents[p]) for p in sorted(ents)]


# ----------------------------------------------------------------------------------------
# writing


def write_layer(sink: Sink, entries, block: memoryview) -> None:
    for path, kind, size, fid, mode in entries:
        if kind == "d":
            sink.write(tar_header(path + "/", 0, 0o755, b"5"))
        elif kind == "w":
            sink.write(tar_header(path, 0, 0o644, b"0"))
        else:
            sink.write(tar_header(path, size, mode, b"0"))
            prefix = b"%015x\n" % fid
            if size <= 16:
                sink.write(prefix[:size])
            else:
                sink.write(prefix)
                left = size - 16
                off = (fid * 104_729) % BLOCK
                while left > 0:
                    n = min(left, BLOCK)
                    sink.write(block[off : off + n])
                    left -= n
            p = pad_len(size)
            if p:
                sink.write(ZERO_BLOCK[:p])
    sink.write(ZERO_BLOCK)
    sink.write(ZERO_BLOCK)


class Outer:
    """The outer (image) tar, written sequentially; supports a member whose header is
    patched after its content (size and name unknown until written)."""

    def __init__(self, path: str):
        self.f = open(path, "wb", buffering=8 << 20)

    def add_bytes(self, name: str, data: bytes, mode: int = 0o644) -> None:
        self.f.write(tar_header(name, len(data), mode))
        self.f.write(data)
        self.f.write(ZERO_BLOCK[: pad_len(len(data))])

    def add_dir(self, name: str) -> None:
        self.f.write(tar_header(name.rstrip("/") + "/", 0, 0o755, b"5"))

    def begin_deferred(self, nheaders: int) -> int:
        pos = self.f.tell()
        self.f.write(ZERO_BLOCK * nheaders)
        return pos

    def end_deferred(self, pos: int, headers: list[bytes], size: int) -> None:
        self.f.write(ZERO_BLOCK[: pad_len(size)])
        end = self.f.tell()
        self.f.seek(pos)
        for h in headers:
            self.f.write(h)
        self.f.seek(end)

    def close(self) -> None:
        self.f.write(ZERO_BLOCK * 2)
        self.f.close()


def jdump(obj) -> bytes:
    return json.dumps(obj, separators=(",", ":"), sort_keys=False).encode()


def created_at(i: int) -> str:
    t = time.gmtime(MTIME + 60 * i)
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", t)


def history_entry(i: int, lp) -> dict:
    if i == 0:
        return {"created": created_at(0),
                "created_by": "/bin/sh -c #(nop) ADD file:%s in / " % hashlib.sha256(b"base").hexdigest()}
    nwh = len(lp["wh_files"]) + len(lp["wh_dirs"]) + len(lp["wh_opq"])
    cmd = f"RUN /bin/sh -c install-pkgs --layer {i} --files {len(lp['files'])}"
    if nwh:
        cmd = f"RUN /bin/sh -c cleanup-old --count {nwh} && install-pkgs --layer {i} --files {len(lp['files'])}"
    return {"created": created_at(i), "created_by": cmd + " # buildkit",
            "comment": "buildkit.dockerfile.v0"}


def generate(args) -> None:
    t0 = time.monotonic()
    out = args.out
    tmp = out + ".partial"
    plan = plan_image(args.layers, args.files, args.bytes, args.whiteouts, args.seed,
                      args.dir_whiteouts, args.opaque)
    t_plan = time.monotonic() - t0
    block = make_block(args.seed)
    tag = args.tag or f"layerscope-bench/{args.preset or os.path.basename(out).split('.')[0]}:latest"
    repo, _, tagname = tag.rpartition(":")
    level = args.gzip_level if args.gzip else None

    o = Outer(tmp)
    layer_meta = []
    parent_id = ""
    if args.gzip:
        o.add_dir("blobs")
        o.add_dir("blobs/sha256")
    for i, lp in enumerate(plan):
        ents = layer_entries(lp)
        nheaders = 1 if args.gzip else 2  # classic: "<id>/" dir + "<id>/layer.tar"
        pos = o.begin_deferred(nheaders)
        sink = Sink(o.f, level)
        write_layer(sink, ents, block)
        diff_id, raw_len, blob, blob_len = sink.close()
        if args.gzip:
            path = f"blobs/sha256/{blob}"
            o.end_deferred(pos, [tar_header(path, blob_len)], blob_len)
        else:
            lid = hashlib.sha256(f"{parent_id} sha256:{diff_id}".encode()).hexdigest()
            path = f"{lid}/layer.tar"
            o.end_deferred(pos, [tar_header(lid + "/", 0, 0o755, b"5"),
                                 tar_header(path, raw_len)], raw_len)
            o.add_bytes(f"{lid}/VERSION", b"1.0")
            v1 = {"id": lid, "created": created_at(i), "os": "linux", "architecture": "amd64"}
            if parent_id:
                v1["parent"] = parent_id
            o.add_bytes(f"{lid}/json", jdump(v1))
            parent_id = lid
        layer_meta.append(dict(
            index=i, path=path, diff_id=f"sha256:{diff_id}", digest=f"sha256:{blob}",
            size=raw_len, blob_size=blob_len,
            files=len(lp["files"]), content_bytes=sum(f[1] for f in lp["files"]),
            whiteouts=len(lp["wh_files"]) + len(lp["wh_dirs"]) + len(lp["wh_opq"]),
            file_whiteouts=len(lp["wh_files"]), dir_whiteouts=len(lp["wh_dirs"]),
            opaque_whiteouts=len(lp["wh_opq"])))
        if args.verbose:
            print(f"  layer {i}: {len(lp['files'])} files, {layer_meta[-1]['whiteouts']} whiteouts, "
                  f"{raw_len / 1e6:.1f} MB -> {path}", file=sys.stderr)

    config = {
        "architecture": "amd64",
        "os": "linux",
        "created": created_at(len(plan)),
        "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
                   "Cmd": ["/bin/sh"], "WorkingDir": "/"},
        "history": [history_entry(i, lp) for i, lp in enumerate(plan)],
        "rootfs": {"type": "layers", "diff_ids": [m["diff_id"] for m in layer_meta]},
    }
    cfg = jdump(config)
    cfg_hex = hashlib.sha256(cfg).hexdigest()
    if args.gzip:
        o.add_bytes(f"blobs/sha256/{cfg_hex}", cfg)
        manifest = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                       "digest": f"sha256:{cfg_hex}", "size": len(cfg)},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                        "digest": m["digest"], "size": m["blob_size"]} for m in layer_meta],
        }
        mb = jdump(manifest)
        m_hex = hashlib.sha256(mb).hexdigest()
        o.add_bytes(f"blobs/sha256/{m_hex}", mb)
        index = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [{
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": f"sha256:{m_hex}", "size": len(mb),
                "annotations": {"io.containerd.image.name": f"docker.io/{tag}",
                                "org.opencontainers.image.ref.name": tagname},
                "platform": {"architecture": "amd64", "os": "linux"},
            }],
        }
        o.add_bytes("index.json", jdump(index))
        dm = [{"Config": f"blobs/sha256/{cfg_hex}", "RepoTags": [tag],
               "Layers": [m["path"] for m in layer_meta]}]
        o.add_bytes("manifest.json", jdump(dm))
        o.add_bytes("oci-layout", jdump({"imageLayoutVersion": "1.0.0"}))
        o.add_bytes("repositories", jdump({repo: {tagname: layer_meta[-1]["diff_id"][7:]}}))
    else:
        o.add_bytes(f"{cfg_hex}.json", cfg)
        dm = [{"Config": f"{cfg_hex}.json", "RepoTags": [tag],
               "Layers": [m["path"] for m in layer_meta]}]
        o.add_bytes("manifest.json", jdump(dm))
        o.add_bytes("repositories", jdump({repo: {tagname: parent_id}}))
    o.close()
    elapsed = time.monotonic() - t0

    meta = dict(
        preset=args.preset, format="oci-gzip" if args.gzip else "docker-archive",
        seed=args.seed, tag=tag, layers=len(plan), files=args.files,
        content_bytes=args.bytes,
        whiteouts=sum(m["whiteouts"] for m in layer_meta),
        file_whiteouts=sum(m["file_whiteouts"] for m in layer_meta),
        dir_whiteouts=sum(m["dir_whiteouts"] for m in layer_meta),
        opaque_whiteouts=sum(m["opaque_whiteouts"] for m in layer_meta),
        image_bytes=os.path.getsize(tmp), config=f"sha256:{cfg_hex}",
        gen_seconds=round(elapsed, 3), plan_seconds=round(t_plan, 3),
        layer_list=layer_meta,
    )
    with open(out + ".meta.json.partial", "w") as f:
        json.dump(meta, f, indent=1)
    os.replace(out + ".meta.json.partial", out + ".meta.json")
    os.replace(tmp, out)
    print(f"{out}: {meta['format']}, {meta['layers']} layers, {meta['files']} files, "
          f"{meta['content_bytes'] / 1e6:.0f} MB content, {meta['whiteouts']} whiteouts "
          f"({meta['file_whiteouts']} file, {meta['dir_whiteouts']} dir, "
          f"{meta['opaque_whiteouts']} opaque), {meta['image_bytes'] / 1e6:.0f} MB on disk, "
          f"{elapsed:.1f} s")


# ----------------------------------------------------------------------------------------
# verification (independent of the writer: uses tarfile / zlib / gzip only)


class HashReader:
    def __init__(self, f):
        self.f, self.h, self.n = f, hashlib.sha256(), 0

    def read(self, n=-1):
        b = self.f.read(n)
        self.h.update(b)
        self.n += len(b)
        return b

    def drain(self):
        while self.read(1 << 20):
            pass


def verify(path: str) -> int:
    t0 = time.monotonic()
    errors = []
    members = {}
    with tarfile.open(path, "r:") as outer:
        for m in outer:
            members[m.name] = m
        manifest = json.load(outer.extractfile("manifest.json"))
        if len(manifest) != 1:
            errors.append(f"manifest.json has {len(manifest)} entries")
        ent = manifest[0]
        cfg_bytes = outer.extractfile(ent["Config"]).read()
        cfg_hex = hashlib.sha256(cfg_bytes).hexdigest()
        if os.path.basename(ent["Config"]).removesuffix(".json") != cfg_hex:
            errors.append(f"config name {ent['Config']} != sha256 {cfg_hex}")
        cfg = json.loads(cfg_bytes)
        for k, v in (("architecture", "amd64"), ("os", "linux")):
            if cfg.get(k) != v:
                errors.append(f"config {k}={cfg.get(k)!r}")
        if cfg["rootfs"]["type"] != "layers":
            errors.append("rootfs.type != layers")
        diff_ids = cfg["rootfs"]["diff_ids"]
        if len(diff_ids) != len(ent["Layers"]) or len(cfg.get("history", [])) != len(diff_ids):
            errors.append("layers / diff_ids / history count mismatch")
        oci_layers = None
        if "index.json" in members:
            index = json.load(outer.extractfile("index.json"))
            md = index["manifests"][0]["digest"].split(":")[1]
            mb = outer.extractfile(f"blobs/sha256/{md}").read()
            if hashlib.sha256(mb).hexdigest() != md:
                errors.append("OCI manifest digest mismatch")
            om = json.loads(mb)
            if om["config"]["digest"] != f"sha256:{cfg_hex}":
                errors.append("OCI manifest config digest mismatch")
            oci_layers = om["layers"]

        tree: dict = {}  # merged view: name -> subtree dict, or None for a non-directory
        stats = dict(files=0, bytes=0, whiteouts=0, file_wh=0, dir_wh=0, opaque=0)

        def lookup(parts):
            node = tree
            for p in parts:
                if not isinstance(node, dict) or p not in node:
                    return None, False
                node = node[p]
            return node, True

        for li, lpath in enumerate(ent["Layers"]):
            m = members[lpath]
            hr = HashReader(outer.extractfile(m))
            gz = False
            if oci_layers is not None:
                desc = oci_layers[li]
                gz = desc["mediaType"].endswith("+gzip")
                if desc["size"] != m.size:
                    errors.append(f"layer {li}: descriptor size {desc['size']} != {m.size}")
            inner_src = gzip.GzipFile(fileobj=hr, mode="rb") if gz else hr
            inner_hash = HashReader(inner_src)
            adds, wh, opq = [], [], []
            with tarfile.open(fileobj=inner_hash, mode="r|") as lt:
                for e in lt:
                    name = e.name.rstrip("/")
                    d, _, base = name.rpartition("/")
                    if base == ".wh..wh..opq":
                        opq.append(d)
                    elif base.startswith(".wh."):
                        wh.append((d, base[4:]))
                    else:
                        adds.append((name, e.isdir()))
                        if e.isreg():
                            stats["files"] += 1
                            stats["bytes"] += e.size
            inner_hash.drain()
            hr.drain()
            if inner_hash.h.hexdigest() != diff_ids[li].split(":")[1]:
                errors.append(f"layer {li}: sha256 {inner_hash.h.hexdigest()} != diff_id {diff_ids[li]}")
            if oci_layers is not None and hr.h.hexdigest() != oci_layers[li]["digest"].split(":")[1]:
                errors.append(f"layer {li}: blob digest mismatch")
            if oci_layers is not None and os.path.basename(lpath) != hr.h.hexdigest():
                errors.append(f"layer {li}: blob name != digest")
            # apply to the merged view: whiteouts hide lower content only
            for d in opq:
                node, ok = lookup(d.split("/"))
                if not ok or not isinstance(node, dict):
                    errors.append(f"layer {li}: opaque dir {d} missing below")
                else:
                    node.clear()
                stats["opaque"] += 1
            for d, base in wh:
                parent, ok = lookup(d.split("/") if d else [])
                if not ok or not isinstance(parent, dict) or base not in parent:
                    errors.append(f"layer {li}: whiteout of missing {d}/{base}")
                    continue
                if isinstance(parent[base], dict):
                    stats["dir_wh"] += 1
                else:
                    stats["file_wh"] += 1
                del parent[base]
            for name, isdir in adds:
                parts = name.split("/")
                node = tree
                for p in parts[:-1]:
                    node = node.setdefault(p, {})
                if isdir:
                    node.setdefault(parts[-1], {})
                else:
                    node[parts[-1]] = None
    stats["whiteouts"] = stats["file_wh"] + stats["dir_wh"] + stats["opaque"]
    meta_path = path + ".meta.json"
    if os.path.exists(meta_path):
        with open(meta_path) as f:
            meta = json.load(f)
        for k_meta, k_stat in (("files", "files"), ("content_bytes", "bytes"),
                               ("whiteouts", "whiteouts"), ("file_whiteouts", "file_wh"),
                               ("dir_whiteouts", "dir_wh"), ("opaque_whiteouts", "opaque")):
            if meta[k_meta] != stats[k_stat]:
                errors.append(f"{k_meta}: meta says {meta[k_meta]}, image has {stats[k_stat]}")
    for e in errors[:50]:
        print("ERROR:", e, file=sys.stderr)
    print(f"{path}: {'FAIL' if errors else 'OK'} ({stats['files']} files, {stats['bytes']} bytes, "
          f"{stats['whiteouts']} whiteouts = {stats['file_wh']} file + {stats['dir_wh']} dir + "
          f"{stats['opaque']} opaque; {time.monotonic() - t0:.1f} s)")
    return 1 if errors else 0


def parse_size(s: str) -> int:
    s = s.strip().upper().replace("_", "")
    mult = {"K": 10**3, "M": 10**6, "G": 10**9, "KI": 2**10, "MI": 2**20, "GI": 2**30}
    for suf in sorted(mult, key=len, reverse=True):
        for tail in (suf + "B", suf):
            if s.endswith(tail):
                return int(float(s[: -len(tail)]) * mult[suf])
    return int(float(s.rstrip("B")))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="presets:\n" + "\n".join(
                                     f"  {k:7s} {v['bytes'] / 1e6:.0f} MB, {v['files']} files, "
                                     f"{v['layers']} layers, {v['whiteouts']} whiteouts"
                                     f"{', gzip OCI layout' if v['gzip'] else ''}"
                                     for k, v in PRESETS.items()))
    ap.add_argument("--out", help="output image tar (default: <preset>.tar)")
    ap.add_argument("--preset", choices=sorted(PRESETS))
    ap.add_argument("--layers", type=int)
    ap.add_argument("--files", type=int, help="total regular files over all layers")
    ap.add_argument("--bytes", type=parse_size, help="total uncompressed file content, e.g. 1G, 300MB")
    ap.add_argument("--whiteouts", type=int, help="whiteout entries over the upper layers")
    ap.add_argument("--dir-whiteouts", type=int, help="how many of them delete a directory "
                    "(default 2%%)")
    ap.add_argument("--opaque", type=int, help="how many of them are .wh..wh..opq markers "
                    "(default whiteouts/200, 1..5)")
    ap.add_argument("--gzip", action="store_true", default=None,
                    help="gzip layers and write the OCI layout variant")
    ap.add_argument("--gzip-level", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--tag", help="RepoTags entry (default layerscope-bench/<preset or file stem>:latest)")
    ap.add_argument("--verify", metavar="IMAGE", help="check an image instead of generating")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)

    if args.verify:
        return verify(args.verify)
    base = dict(PRESETS[args.preset]) if args.preset else dict(
        layers=5, files=1000, bytes=10_000_000, whiteouts=0, gzip=False)
    for k in ("layers", "files", "bytes", "whiteouts", "gzip"):
        if getattr(args, k) is not None:
            base[k] = getattr(args, k)
    for k, v in base.items():
        setattr(args, k, v)
    if args.out is None:
        args.out = f"{args.preset or 'image'}.tar"
    if not 0 <= args.gzip_level <= 9:
        ap.error("--gzip-level must be 0..9")
    generate(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
