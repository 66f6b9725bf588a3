#!/usr/bin/env python3
"""Re-create static/vendor/nsfwjs/<version>/ from the npm registry and prove it is the real package.

The nudity shield (static/js/chat/shield.js) runs nsfwjs in the viewer's browser. The page may
load nothing from outside the site, so the package's browser bundle (which already contains
TensorFlow.js) and the MobileNetV2 model files are served from our own static files.

Steps: ``npm pack nsfwjs@VERSION`` (always pinned: a bare ``npm pack nsfwjs`` fetched an older
release), check the tarball's sha512 against both the pinned ``INTEGRITY`` below and the
registry's ``dist.integrity``, then copy only the files the browser needs. ``--check`` verifies
the committed files against a fresh download without writing anything.

    python3 scripts/vendor_nsfwjs.py [--check]
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

NAME = "nsfwjs"
VERSION = "4.4.0"
# The registry's dist.integrity for nsfwjs@4.4.0 (npm view nsfwjs@4.4.0 dist.integrity).
INTEGRITY = "sha512-krC1fgeTLXtZwgdpKJ0jm7hqv0gTSRQQRL+FhOaxaJ9Wj92t42BO3csO2odwgTAgZgf2RvkwPtp0R8Aa7dc+MA=="
# Package path -> vendored path. The model files are UMD scripts that set the globals
# ``model`` and ``group1_shard1of1``, which nsfwjs.load("MobileNetV2") reads before it would
# try its own (bundler-only) imports; the bundle sets the global ``nsfwjs``.
FILES = {
    "package/LICENSE": "LICENSE",
    "package/dist/browser/nsfwjs.min.js": "nsfwjs.min.js",
    "package/dist/models/mobilenet_v2/model.min.js": "mobilenet_v2/model.min.js",
    "package/dist/models/mobilenet_v2/group1-shard1of1.min.js": "mobilenet_v2/group1-shard1of1.min.js",
}

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "static" / "vendor" / NAME / VERSION


def sri_sha512(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def npm(*args: str, cwd: Path) -> str:
    executable = shutil.which("npm")
    if executable is None:
        sys.exit("npm is missing (Debian: apt-get install npm)")
    return subprocess.run([executable, *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def fetch_tarball(workdir: Path) -> bytes:
    spec = f"{NAME}@{VERSION}"
    registry_integrity = json.loads(npm("view", spec, "dist.integrity", "--json", cwd=workdir))
    if registry_integrity != INTEGRITY:
        sys.exit(f"registry integrity {registry_integrity} differs from the pinned {INTEGRITY}")
    packed = json.loads(npm("pack", spec, "--json", cwd=workdir))[0]
    if packed["version"] != VERSION:
        sys.exit(f"npm packed {packed['name']}@{packed['version']}, not {spec}")
    data = (workdir / packed["filename"]).read_bytes()
    actual = sri_sha512(data)
    if actual != INTEGRITY:
        sys.exit(f"tarball sha512 {actual} differs from the registry's {INTEGRITY}")
    return data


def extract(tarball: bytes, workdir: Path) -> dict[str, bytes]:
    path = workdir / "package.tgz"
    path.write_bytes(tarball)
    files = {}
    with tarfile.open(path, "r:gz") as archive:
        for member, target in FILES.items():
            handle = archive.extractfile(member)
            if handle is None:
                sys.exit(f"{member} is missing from the package")
            files[target] = handle.read()
    return files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare the committed files, write nothing")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        files = extract(fetch_tarball(Path(tmp)), Path(tmp))
    if args.check:
        committed = {str(p.relative_to(TARGET)): p.read_bytes() for p in TARGET.rglob("*") if p.is_file()}
        if committed != files:
            changed = sorted(
                name for name in files.keys() | committed.keys() if files.get(name) != committed.get(name)
            )
            sys.exit(f"{TARGET.relative_to(ROOT)} differs from {NAME}@{VERSION}: {changed}")
        print(f"{TARGET.relative_to(ROOT)} matches {NAME}@{VERSION} ({INTEGRITY})")
        return
    shutil.rmtree(TARGET, ignore_errors=True)
    for name, data in files.items():
        (TARGET / name).parent.mkdir(parents=True, exist_ok=True)
        (TARGET / name).write_bytes(data)
    total = sum(len(data) for data in files.values())
    print(f"wrote {len(files)} files ({total} bytes) of {NAME}@{VERSION} to {TARGET.relative_to(ROOT)}")
    for name, data in sorted(files.items()):
        print(f"  {name}  {len(data)} bytes  sha256 {hashlib.sha256(data).hexdigest()}")


if __name__ == "__main__":
    main()
