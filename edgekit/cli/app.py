"""The typer app, the consoles of one invocation, and the mapping of errors to exit codes.

Exit codes: 0 ok, 1 internal error (a bug; the traceback goes to a log file), 2 usage,
3 bad input, 4 device or connection, 5 result below a requested bound, 130 Ctrl-C,
143 SIGTERM.
"""

from __future__ import annotations

import contextvars
import functools
import os
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

from .. import _files, _signals
from .._native_log import capture_native_stderr
from ..errors import EdgekitError
from . import help as _help  # noqa: F401 - how parameters show in --help
from .flags import to_cli

app = typer.Typer(
    help="edgekit: a trained model to an edge device, with measured latency and accuracy.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode="markdown",  # help text is Markdown: edgekit[convert] stays as written
)


def _width(stream) -> int | None:
    """Terminals report their width; logs and pipes get 160 columns instead of rich's 80."""
    try:
        return None if stream.isatty() else int(os.environ.get("COLUMNS", 160))
    except (AttributeError, ValueError):
        return 160


@dataclass
class Ui:
    """The consoles of one command: `err` on a duplicate of fd 2 (it keeps reaching the
    terminal while edgekit captures the converter's native log output on fd 2), `out` on
    stdout. Made per invocation by `handle_errors`."""

    out: Console
    err: Console
    command: str

    @classmethod
    def open(cls, command: str) -> "Ui":
        stream = os.fdopen(os.dup(sys.stderr.fileno()), "w", buffering=1, encoding="utf-8", errors="replace")
        err = Console(file=stream, stderr=True, highlight=False, width=_width(stream))
        return cls(Console(highlight=False, width=_width(sys.stdout)), err, command)

    def close(self) -> None:
        try:
            self.err.file.close()
        except OSError:
            pass

    def print(self, *renderables, err: bool = False, wrap: bool = False) -> None:
        """Tables and lines on stdout (stderr with `err`); library text in lines is written
        with the flags of this command instead of parameter names. Lines are not wrapped
        (logs keep them whole) unless `wrap`: then at word boundaries, never mid-word."""
        console = self.err if err else self.out
        for renderable in renderables:
            if isinstance(renderable, str):
                console.print(to_cli(renderable, self.command), soft_wrap=not wrap)
            else:
                console.print(renderable)

    def error(self, label: str, message: str, colour: str = "red") -> None:
        text = " ".join(to_cli(message, self.command).split())  # one line, always
        self.err.print(f"[{colour}]{label}:[/{colour}] {escape(text)}", soft_wrap=True)

    def step(self, enabled: bool = True):
        """A progress callback: each library step as a dim line with elapsed seconds. It is
        also a safe point where a swallowed Ctrl-C/SIGTERM is raised again."""
        started = time.perf_counter()

        def step(message: str):
            _signals.check()
            if enabled:
                self.err.print(f"[dim]{time.perf_counter() - started:6.1f}s[/dim] {escape(message)}", soft_wrap=True)

        return step


_current: contextvars.ContextVar[Ui] = contextvars.ContextVar("edgekit_ui")


def ui() -> Ui:
    return _current.get()


def crash_log(exc: BaseException) -> Path:
    folder = Path(tempfile.gettempdir())
    path = folder / f"edgekit-crash-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"
    path.write_text("".join(traceback.format_exception(exc)), encoding="utf-8", errors="replace")
    return path


def _interrupted(u: Ui, what: str, code: int) -> typer.Exit:
    """Say truthfully what an interrupted command left: the files it had completed (each
    whole) or nothing; never a partial file at a final path."""
    written = [p.name for p in _files.WRITTEN]
    left = f"it had written {', '.join(written)} (complete); nothing else" if written else "nothing was written"
    u.err.print(f"[yellow]{what}[/yellow]: {escape(left)}; no partial file is left at a final path", soft_wrap=True)
    return typer.Exit(code)


def handle_errors(func):
    """Run a command with its own consoles; an EdgekitError becomes one red line and its
    exit code, Ctrl-C 130, SIGTERM 143, a bug exit 1 with the traceback in a log file."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        u = Ui.open(func.__name__.replace("_", " "))
        token = _current.set(u)
        _files.WRITTEN.clear()
        try:
            result = func(*args, **kwargs)
            _signals.check()
            return result
        except typer.Exit:
            raise
        except EdgekitError as exc:
            u.error("error", exc.message)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            raise _interrupted(u, "interrupted", 130) from None
        except _signals.Terminated:
            raise _interrupted(u, "terminated (SIGTERM)", 143) from None
        except Exception as exc:  # a bug: keep the traceback off the terminal, in a log
            log = crash_log(exc)
            u.error("internal error", f"{type(exc).__name__}: {exc} (a bug in edgekit; traceback in {log})")
            raise typer.Exit(1) from None
        finally:
            _current.reset(token)
            u.close()

    return wrapper


def quiet_native():
    """Keep the converter's and interpreter's C++ log lines (fd 2) off the terminal."""
    return capture_native_stderr()


def raise_if(error: EdgekitError | None) -> None:
    if error is not None:
        raise error


def _version(value: bool):
    if value:
        from .. import __version__

        typer.echo(f"edgekit {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print edgekit's version and exit."),
):
    """edgekit: a trained model to an edge device, with measured latency and accuracy.

    train -> quantize -> TFLite (+ Edge TPU) -> device -> measured latency and accuracy.
    Every command has --help with examples and --json output. Exit codes: 0 ok, 1 a bug,
    2 usage, 3 bad input, 4 device or connection, 5 below a requested bound.
    """


def main():
    """The `edgekit` console script."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # this CLI process only: quiet TF start-up
    _signals.install()
    from . import commands  # noqa: F401 - registers the commands on `app`
    from .help import run

    sys.exit(run(app))
