"""A minimal PEP 517 build backend (scanfarm's tests).

A project names it in pyproject.toml:

    [build-system]
    requires = ["sf-build-backend"]
    build-backend = "sf_build_backend"

    [project]
    name = "..."
    version = "..."

    [tool.sf-build-backend]
    modules = ["pkg_or_module", ...]   # what the wheel holds
    hook = "build_hook.py"             # optional: run before each build

Like the build hooks of real backends (hatchling's hatch_build.py), the
hook is the project's own code, run in the build: what scanfarm's sandbox
must see when pip resolves or builds such an sdist.
"""
import base64
import hashlib
import io
import os
import runpy
import tarfile
import tomllib
import zipfile

_WHEEL = "Wheel-Version: 1.0\nGenerator: sf-build-backend 1.0.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n"


def _project():
    with open("pyproject.toml", "rb") as f:
        data = tomllib.load(f)
    project = data["project"]
    conf = data.get("tool", {}).get("sf-build-backend", {})
    return project["name"], project["version"], conf


def _escaped(name):
    out = []
    for c in name:
        out.append("_" if c in "-_." else c)
    return "".join(out)


def _metadata(name, version):
    return "Metadata-Version: 2.1\nName: %s\nVersion: %s\n" % (name, version)


def _hook(conf, what):
    hook = conf.get("hook")
    if hook:
        runpy.run_path(hook, init_globals={"BUILD": what}, run_name="__build_hook__")


def _files(conf):
    for mod in conf.get("modules", []):
        if os.path.isdir(mod):
            for top, dirs, names in os.walk(mod):
                dirs.sort()
                for n in sorted(names):
                    if not n.endswith(".pyc"):
                        yield os.path.join(top, n)
        else:
            yield mod + ".py"


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    name, version, conf = _project()
    _hook(conf, "metadata")
    info = "%s-%s.dist-info" % (_escaped(name), version)
    os.makedirs(os.path.join(metadata_directory, info), exist_ok=True)
    with open(os.path.join(metadata_directory, info, "METADATA"), "w") as f:
        f.write(_metadata(name, version))
    return info


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    name, version, conf = _project()
    _hook(conf, "wheel")
    info = "%s-%s.dist-info" % (_escaped(name), version)
    wheel = "%s-%s-py3-none-any.whl" % (_escaped(name), version)
    record = []

    def add(z, arcname, data):
        z.writestr(arcname, data)
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
        record.append("%s,sha256=%s,%d" % (arcname, digest.decode(), len(data)))

    with zipfile.ZipFile(os.path.join(wheel_directory, wheel), "w", zipfile.ZIP_DEFLATED) as z:
        for path in _files(conf):
            with open(path, "rb") as f:
                add(z, path.replace(os.sep, "/"), f.read())
        add(z, info + "/METADATA", _metadata(name, version).encode())
        add(z, info + "/WHEEL", _WHEEL.encode())
        record.append(info + "/RECORD,,")
        z.writestr(info + "/RECORD", "\n".join(record) + "\n")
    return wheel


def build_sdist(sdist_directory, config_settings=None):
    name, version, conf = _project()
    top = "%s-%s" % (_escaped(name), version)
    sdist = top + ".tar.gz"
    paths = ["pyproject.toml"] + list(_files(conf))
    for extra in (conf.get("hook"), "armed"):
        if extra and os.path.exists(extra):
            paths.append(extra)
    with tarfile.open(os.path.join(sdist_directory, sdist), "w:gz", format=tarfile.PAX_FORMAT) as t:
        info = tarfile.TarInfo(top + "/PKG-INFO")
        data = _metadata(name, version).encode()
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
        for path in paths:
            t.add(path, arcname=top + "/" + path.replace(os.sep, "/"), recursive=False)
    return sdist
