# ON THE DEVICE (after common.py and edgekit/bench/system.py): python -c SCRIPT WORKDIR
# `edgekit device check`: the machine facts (system_facts from edgekit/bench/system.py), the
# C library, free disk and memory; then, in a second line, whether the edgekit runtime is
# installed in WORKDIR and which interpreter backend it resolves to. The facts are sent
# first, so that a runtime whose import crashes Python still leaves them with the host.
import os
import platform
import shutil
import sys

if "emit" not in globals():  # run alone (tests, linters); normally common.py comes first
    from common import emit, expand, read_record
    from edgekit.bench.system import system_facts


def memory():
    found = {}
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                key, _, value = line.partition(":")
                if key in ("MemTotal", "MemAvailable"):
                    found[key] = int(value.split()[0]) * 1024
    except (OSError, ValueError):
        pass
    return found.get("MemTotal"), found.get("MemAvailable")


def disk_free(path):
    while path and not os.path.exists(path):
        path = os.path.dirname(path)
    try:
        return shutil.disk_usage(path or "/").free
    except OSError:
        return None


def runtime(workdir):
    record = read_record(workdir)
    if record is None:
        return {"installed": False, "backend": None, "record": None, "error": None}
    sys.path.insert(0, os.path.join(workdir, "site"))
    try:
        import importlib

        backend = importlib.import_module("edgekit.runtime.interpreter")._resolve_backend("auto")[0]
        error = None
    except Exception as exc:  # the record is there but the import fails: report why
        backend, error = None, "%s: %s" % (type(exc).__name__, exc)
    return {"installed": error is None, "backend": backend, "record": record, "error": error}


def main():
    workdir = expand(sys.argv[1])
    facts = system_facts()
    total, available = memory()
    libc, libc_version = platform.libc_ver()
    facts.update(libc=[libc or None, libc_version or None], workdir=workdir,
                 disk_free_bytes=disk_free(workdir), mem_total_bytes=total, mem_available_bytes=available)
    emit({"facts": facts})
    emit({"ok": runtime(workdir)})


if __name__ == "__main__":
    main()
