# ON THE DEVICE (after common.py): python -c SCRIPT WORKDIR UPLOAD_DIR RECORD_JSON
# Unpacks every wheel in UPLOAD_DIR into a new folder, imports edgekit.runtime from it and
# resolves its interpreter backend, then swaps it in as WORKDIR/site and writes
# WORKDIR/installed.json (RECORD_JSON plus what was verified). No pip: wheels are zip files.
import importlib
import json
import os
import shutil
import sys
import time
import zipfile

if "emit" not in globals():  # run alone (tests, linters); normally common.py comes first
    from common import emit, expand, fail, fail_os


def unpack(upload_dir, names, target):
    for name in names:
        with zipfile.ZipFile(os.path.join(upload_dir, name)) as wheel:
            wheel.extractall(target)  # zipfile drops absolute paths and ".." components
    for data_dir in [d for d in os.listdir(target) if d.endswith(".data")]:
        for scheme in ("purelib", "platlib"):  # wheel spec: these go to the site folder root
            source = os.path.join(target, data_dir, scheme)
            for entry in os.listdir(source) if os.path.isdir(source) else []:
                os.rename(os.path.join(source, entry), os.path.join(target, entry))
        shutil.rmtree(os.path.join(target, data_dir))


def verify(site):
    """Import the runtime from `site`; return (backend name, versions)."""
    sys.path.insert(0, site)
    import importlib.metadata as metadata

    importlib.import_module("numpy")
    interpreter = importlib.import_module("edgekit.runtime.interpreter")
    backend = interpreter._resolve_backend("auto")[0]
    versions = {}
    for dist in ("edgekit", "numpy", "ai-edge-litert"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = None
    return backend, versions


def swap_in(workdir, new_site, record):
    site = os.path.join(workdir, "site")
    record_path = os.path.join(workdir, "installed.json")
    old = site + ".old-" + str(os.getpid())
    if os.path.exists(record_path):
        os.remove(record_path)  # a half-swapped folder must not look installed
    if os.path.exists(site):
        os.rename(site, old)
    os.rename(new_site, site)
    tmp = record_path + ".tmp"
    with open(tmp, "w") as handle:
        json.dump(record, handle, indent=1)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, record_path)
    shutil.rmtree(old, ignore_errors=True)


def main():
    workdir, upload_dir, record = expand(sys.argv[1]), expand(sys.argv[2]), json.loads(sys.argv[3])
    new_site = os.path.join(workdir, "site.new-" + str(os.getpid()))
    try:
        unpack(upload_dir, [w["name"] for w in record["wheels"]], new_site)
        backend, versions = verify(new_site)
        record.update(backend=backend, versions=versions, installed_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"))
        swap_in(workdir, new_site, record)
    except OSError as exc:
        shutil.rmtree(new_site, ignore_errors=True)
        fail_os(exc, "cannot install into %s" % workdir)
    except Exception as exc:  # an import that fails: the wheels do not suit this device
        shutil.rmtree(new_site, ignore_errors=True)
        fail("verify", "the runtime does not import on this device: %s: %s" % (type(exc).__name__, exc))
    emit({"ok": {"backend": backend, "versions": versions, "site": os.path.join(workdir, "site")}})


if __name__ == "__main__":
    main()
