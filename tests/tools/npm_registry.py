#!/usr/bin/env python3
"""npm_registry — lays out a local npm registry for fake_registry.py to serve.

Each PACKAGE_DIR (a directory with a package.json) is packed the way
`npm pack` packs it (every file under package/, a gzipped tar) into
OUT/-/<name>-<version>.tgz, and its version is added to the packument
OUT/<name> (a scoped name @s/n goes to OUT/@s/n): the whole package.json plus
dist.tarball (BASE_URL/-/…), dist.integrity (sha512) and dist.shasum (sha1),
dist-tags.latest the highest version seen. A test-only `expect` file is left
out of the tarball.

    npm_registry.py OUT BASE_URL PACKAGE_DIR...

Prints one line per tarball: NAME@VERSION PATH INTEGRITY.
"""
import base64
import gzip
import hashlib
import io
import json
import os
import sys
import tarfile


def pack(pkg_dir):
    """The package as npm pack makes it: gzip(tar of package/...)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for root, dirs, files in os.walk(pkg_dir):
            dirs.sort()
            for f in sorted(files):
                if root == pkg_dir and f == "expect":
                    continue
                path = os.path.join(root, f)
                arc = "package/" + os.path.relpath(path, pkg_dir)
                info = tar.gettarinfo(path, arc)
                info.uid = info.gid = 0
                info.uname = info.gname = ""
                info.mtime = 499162500  # npm's fixed date (1985-10-26)
                with open(path, "rb") as fh:
                    tar.addfile(info, fh)
    return gzip.compress(raw.getvalue(), mtime=0)


def version_key(v):
    return tuple(int(p) if p.isdigit() else 0 for p in v.split("-")[0].split("."))


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    out, base = sys.argv[1], sys.argv[2].rstrip("/")
    os.makedirs(os.path.join(out, "-"), exist_ok=True)
    for pkg_dir in sys.argv[3:]:
        with open(os.path.join(pkg_dir, "package.json")) as fh:
            manifest = json.load(fh)
        name, version = manifest["name"], manifest["version"]
        flat = name.lstrip("@").replace("/", "-")
        tgz_name = f"{flat}-{version}.tgz"
        data = pack(pkg_dir)
        with open(os.path.join(out, "-", tgz_name), "wb") as fh:
            fh.write(data)
        integrity = "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()
        doc_path = os.path.join(out, *name.split("/"))
        os.makedirs(os.path.dirname(doc_path), exist_ok=True)
        doc = {"name": name, "dist-tags": {}, "versions": {}}
        if os.path.exists(doc_path):
            with open(doc_path) as fh:
                doc = json.load(fh)
        entry = dict(manifest)
        entry["dist"] = {"tarball": f"{base}/-/{tgz_name}", "integrity": integrity,
                         "shasum": hashlib.sha1(data).hexdigest()}
        doc["versions"][version] = entry
        doc["dist-tags"]["latest"] = max(doc["versions"], key=version_key)
        with open(doc_path, "w") as fh:
            json.dump(doc, fh, indent=1)
        print(f"{name}@{version} {os.path.join(out, '-', tgz_name)} {integrity}")


if __name__ == "__main__":
    main()
