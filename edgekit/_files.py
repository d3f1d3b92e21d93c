"""Atomic writes: a temp file in the destination folder, flushed, fsynced, renamed into place."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from pathlib import Path

from .errors import BadInputError, UsageError


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


def output_folder(output: Path | None, default: Path, count: int, many: str) -> Path | None:
    """Where -o sends `count` outputs: None when -o names one .tflite file (then it is the
    path), else the folder (-o DIR, or `default`). `many` says what makes several files, for
    the error when -o names one file."""
    if output is not None and output.suffix == ".tflite":
        if count > 1:
            raise UsageError(f"-o {output} names one file but {many} would write {count} files; pass a folder to -o")
        return None
    if output is not None and not output.is_dir():
        raise BadInputError(f"-o {output}: no such folder; create it first, or give a .tflite file name")
    return output if output is not None else default


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


def _same_file(fd: int, path: Path) -> bool:
    try:
        return os.fstat(fd).st_ino == os.stat(path).st_ino
    except OSError:
        return False


@contextlib.contextmanager
def output_lock(paths):
    """Hold an exclusive lock on each output path (a `.NAME.lock` file beside it) for the block.

    Two edgekit processes writing the same output at once: the second fails at once with a
    clear error instead of racing the first to a mixed result. flock locks vanish with the
    process that held them, so a killed run leaves no stale lock behind (the lock file itself
    is removed on a clean exit)."""
    import fcntl

    held = []
    try:
        for path in sorted({Path(p).resolve() for p in paths}):
            if not path.parent.is_dir():
                continue  # nothing can be written there; the caller reports the missing folder
            lock_path = path.parent / f".{path.name}.lock"
            try:
                fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as exc:
                raise BadInputError(f"cannot create a lock file beside {path}: {exc.strerror or exc}") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                if not _same_file(fd, lock_path):  # the previous holder removed it meanwhile
                    raise BlockingIOError
            except BlockingIOError:
                os.close(fd)
                raise BadInputError(
                    f"another edgekit process is writing {path} right now; wait for it to finish "
                    "or write elsewhere with -o"
                ) from None
            held.append((fd, lock_path))
        yield
    finally:
        for fd, lock_path in held:
            with contextlib.suppress(OSError):
                os.unlink(lock_path)
            os.close(fd)
