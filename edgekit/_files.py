"""Atomic writes: a temp file in the destination folder, flushed, fsynced, renamed into place."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from pathlib import Path

from . import _signals
from .errors import BadInputError, UsageError


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def check_outputs(paths, force: bool, inputs=()) -> None:
    """Refuse, before any work, outputs edgekit must not write: one named twice, one that is
    also an input of the run, one that exists and is not a regular file (a device, FIFO,
    folder or link: never replaced), one that exists (without `force`), and one whose folder
    is missing or cannot take a new file."""
    seen: dict[Path, Path] = {}
    taken = {Path(p).resolve() for p in inputs if p is not None}
    for path in map(Path, paths):
        real = path.resolve()
        if real in seen:
            raise UsageError(f"{path} is named twice as an output (also as {seen[real]}); give each output its own path")
        seen[real] = path
        if real in taken:
            raise UsageError(f"output {path} is also an input of this run; write the output elsewhere")
        _check_replaceable(path, force)
    for folder in sorted({p.parent for p in map(Path, paths)}):
        check_folder(folder)


def _check_replaceable(path: Path, force: bool) -> None:
    if path.is_symlink() or (path.exists() and not path.is_file()):
        raise BadInputError(
            f"output {path} exists and is not a regular file (a folder, device, FIFO or link); edgekit "
            "only replaces regular files: choose another path"
        )
    if path.exists() and not force:
        raise BadInputError(f"output exists: {path}; pass `force` to overwrite it, or write elsewhere")


def check_folder(folder: Path) -> None:
    """The folder exists and a new file can be created in it (checked by creating one)."""
    if not folder.is_dir():
        raise BadInputError(f"output folder does not exist: {folder}; create it first")
    try:
        with tempfile.NamedTemporaryFile(prefix=".edgekit-probe-", dir=folder):
            pass
    except OSError as exc:
        raise BadInputError(f"cannot write in {folder}: {exc.strerror or exc}; choose another folder") from exc


def output_folder(output: Path | None, default: Path, count: int, many: str) -> Path | None:
    """Where -o sends `count` outputs: None when -o names one .tflite file (then it is the
    path), else the folder (-o DIR, or `default`). `many` says what makes several files, for
    the error when -o names one file."""
    if output is not None and output.suffix == ".tflite":
        if count > 1:
            raise UsageError(f"`output` {output} names one file but {many} would write {count} files; "
                             "give a folder")
        return None
    if output is not None and not output.is_dir():
        if output.exists():
            raise BadInputError(f"`output` {output} is a file, not a folder; give a folder or a .tflite file name")
        try:
            output.mkdir(parents=True)
        except OSError as exc:
            raise BadInputError(f"cannot create the `output` folder {output}: {exc.strerror or exc}") from exc
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


# Every file this process has put in place (in order): what a run interrupted half-way has
# left complete, so that its message can say so truthfully.
WRITTEN: list[Path] = []


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write `data` to `path` so that `path` is either absent/old or complete, never partial.

    Only a regular file (or nothing) is ever replaced: a device node, FIFO, folder or link at
    the path is refused. The file gets the permissions a plain open() would give."""
    path = Path(path)
    _check_replaceable(path, force=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMP_SUFFIX, dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        _signals.check()  # a Ctrl-C/SIGTERM swallowed by a finalizer still stops the write
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    WRITTEN.append(path)
    return path


TEMP_SUFFIX = ".edgekit-tmp"


def remove_stale_temps(path: Path) -> list[Path]:
    """Remove the temp files a killed edgekit run left beside `path` (`.NAME.*.edgekit-tmp`).
    Call it only while holding `path`'s output lock: then no live process is writing them."""
    removed = []
    for stale in path.parent.glob(f".{path.name}.*{TEMP_SUFFIX}"):
        with contextlib.suppress(OSError):
            stale.unlink()
            removed.append(stale)
    return removed


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
                raise BadInputError(f"cannot create a lock file beside {path}: {exc.strerror or exc}") from exc
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                if not _same_file(fd, lock_path):  # the previous holder removed it meanwhile
                    raise BlockingIOError
            except BlockingIOError as exc:
                os.close(fd)
                raise BadInputError(
                    f"another edgekit process is writing {path} right now; wait for it to finish "
                    "or write elsewhere"
                ) from exc
            held.append((fd, lock_path))
            remove_stale_temps(path)  # what a SIGKILLed writer of this output left behind
        yield
    finally:
        for fd, lock_path in held:
            with contextlib.suppress(OSError):
                os.unlink(lock_path)
            os.close(fd)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# Every temporary folder edgekit makes in $TMPDIR, named `{prefix}{pid}-XXXX` by temp_folder
# (the README's reliability section lists them: what a SIGKILL can leave).
TEMP_PREFIXES = (
    "edgekit-savedmodel-", "edgekit-debug-", "edgekit-edgetpu-", "edgekit-run-", "edgekit-setup-",
    "edgekit-wheels-", "edgekit-train-", "edgekit-train-export-", "edgekit-tflite-",
    "edgekit-optimize-", "edgekit-demo-test-",
)


def _stale_pid(name: str) -> int | None:
    """The pid in `{prefix}{pid}-XXXX` for a known prefix, when that process is gone."""
    for prefix in TEMP_PREFIXES:
        pid_text = name[len(prefix):].split("-", 1)[0] if name.startswith(prefix) else ""
        if pid_text.isdigit():
            return None if _pid_alive(int(pid_text)) else int(pid_text)
    return None


def remove_stale_folders(folder: str | None = None) -> list[Path]:
    """Remove every edgekit temporary folder in the temp folder whose process is gone (a run
    that was SIGKILLed cannot clean up after itself; the next run of any command does)."""
    import shutil

    removed = []
    try:
        with os.scandir(folder or tempfile.gettempdir()) as entries:
            candidates = [Path(e.path) for e in entries if e.name.startswith("edgekit-") and _stale_pid(e.name)]
    except OSError:  # an unreadable temp folder: nothing edgekit can clean there
        return removed
    for candidate in candidates:
        if candidate.is_dir() and not candidate.is_symlink():
            shutil.rmtree(candidate, ignore_errors=True)
            removed.append(candidate)
    return removed


@contextlib.contextmanager
def temp_folder(prefix: str):
    """A temporary folder named `{prefix}{pid}-XXXX`, removed on the way out; stale ones of
    dead processes (any edgekit prefix) are removed on the way in."""
    if prefix not in TEMP_PREFIXES:
        raise ValueError(f"temp_folder: {prefix!r} is not in TEMP_PREFIXES")
    remove_stale_folders()
    with tempfile.TemporaryDirectory(prefix=f"{prefix}{os.getpid()}-") as tmp:
        yield tmp
