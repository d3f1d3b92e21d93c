# ON THE DEVICE (after common.py): python -c SCRIPT WORKDIR
# Reports Python, architecture, C library, the absolute workdir and the installed runtime
# record. Read-only: it creates nothing (uploads create their own folders).
import os
import platform
import sys

if "emit" not in globals():  # run alone (tests, linters); normally common.py comes first
    from common import emit, expand, read_record


def main():
    workdir = expand(sys.argv[1])
    libc, libc_version = platform.libc_ver()
    emit({"ok": {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "pointer_bits": 64 if sys.maxsize > 2**32 else 32,
        "libc": [libc or None, libc_version or None],
        "workdir": workdir,
        "site": os.path.join(workdir, "site"),
        "runtime": read_record(workdir),
    }})


if __name__ == "__main__":
    main()
