# Helpers shared by the scripts in this folder. They run ON THE DEVICE with `python -c`, with
# nothing but the standard library: edgekit.devices.remote sends this file followed by one
# script (so no `from __future__` import here or in the scripts). Each script prints exactly
# one JSON line, {"ok": ...} or {"error": {"kind": ..., "message": ...}}, as its last output.
import errno
import json
import os
import sys

DISK_FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


def emit(message):
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def fail(kind, message):
    emit({"error": {"kind": kind, "message": message}})
    sys.exit(1)


def fail_os(exc, doing):
    """An OSError as a protocol error: disk full is its own kind (the host explains it)."""
    kind = "disk_full" if getattr(exc, "errno", None) in DISK_FULL else "os"
    fail(kind, "%s: %s" % (doing, exc))


def expand(path):
    return os.path.abspath(os.path.expanduser(path))


def read_record(workdir):
    """installed.json written by install.py, or None."""
    try:
        with open(os.path.join(workdir, "installed.json")) as handle:
            record = json.load(handle)
    except (OSError, ValueError):
        return None
    site = os.path.join(workdir, "site")
    return record if isinstance(record, dict) and os.path.isdir(site) else None
