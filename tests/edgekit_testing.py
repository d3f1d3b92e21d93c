"""Shared test helpers: run the real CLI in a subprocess and check its one-line errors.

Imported as `from edgekit_testing import ...` (tests/ is put on sys.path by tests/conftest.py);
a plain module, not a conftest, so that test folders with their own conftest can import it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path


REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def default_sigint() -> None:
    """`preexec_fn` for a child a test will interrupt: SIGINT at its default, whatever this
    process inherited. A suite started as `nohup pytest &` (or from a non-interactive shell's
    background job) ignores SIGINT, exec keeps an ignored signal ignored, and the child would
    then never see the test's Ctrl-C."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def wait_for_stderr(process, words: str, limit: float = 120) -> list[str]:
    """Read a child's stderr lines until one contains `words` (the event a test waits for, never
    a sleep); returns the lines read. Fails with what was seen if the child ends first or
    `limit` seconds pass."""
    deadline, seen = time.time() + limit, []
    while time.time() < deadline:
        line = process.stderr.readline()
        seen.append(line)
        if words in line:
            return seen
        if not line and process.poll() is not None:
            break
    raise AssertionError(f"never saw {words!r}: {''.join(seen)}")


def free_ports(n: int) -> list[int]:
    """`n` distinct localhost ports that were free a moment ago (for local tf.distribute workers)."""
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("localhost", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def run_cli(*args, cwd=None, timeout=600, env_columns: int = 200) -> subprocess.CompletedProcess:
    """`python -m edgekit ARGS` in a subprocess: real exit codes, real stdout/stderr; the
    terminal is `env_columns` wide."""
    env = dict(os.environ, PYTHONPATH=str(REPO), COLUMNS=str(env_columns))
    return subprocess.run(
        [sys.executable, "-m", "edgekit", *map(str, args)],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout,
    )


def assert_clean_error(result, code: int, *words: str) -> str:
    """Exit `code`, one error line naming the problem, and no Python traceback."""
    err = result.stderr
    assert result.returncode == code, (result.returncode, result.stdout, err)
    assert "Traceback" not in err and "Traceback" not in result.stdout, err
    lines = [ln for ln in err.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1, err
    message = " ".join(err.split())
    for word in words:
        assert word in message, (word, message)
    return message



def make_manifest(**fields):
    """A minimal valid edgekit Manifest (a float32 recipe of 'm.keras') with `fields` replaced."""
    from edgekit.artifact import Manifest, RecipeRecord, SizeInfo, SourceInfo

    base = dict(source=SourceInfo("m.keras"), recipe=RecipeRecord("float32", "float32"), inputs=(), outputs=(),
                size=SizeInfo(1000))
    return Manifest(**{**base, **fields})
