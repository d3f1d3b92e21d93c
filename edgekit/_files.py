"""Atomic writes: a temp file in the destination folder, flushed, fsynced, renamed into place."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from pathlib import Path

from .errors import BadInputError


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def check_writable(paths, force: bool) -> None:
    """Refuse, before any work, outputs that exist (without force) or whose folder is missing."""
    for path in paths:
        path = Path(path)
        if path.exists() and not force:
            raise BadInputError(
                f"output exists: {path}; pass --force to overwrite it or -o to write elsewhere"
            )
        if not path.parent.is_dir():
            raise BadInputError(f"output folder does not exist: {path.parent}; create it first")


def _umask() -> int:
    """The process umask, read without changing it (os.umask would, process-wide)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o022


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write `data` to `path` so that `path` is either absent/old or complete, never partial.

    The file gets the permissions a plain open() would give (mkstemp's are owner-only)."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))
