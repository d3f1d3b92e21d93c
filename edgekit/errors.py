"""One small exception hierarchy. Each error carries the process exit code the CLI uses.

Exit codes: 0 ok, 1 internal error (a bug), 2 usage, 3 bad input, 4 device or connection,
5 result below a requested bound.
"""

from __future__ import annotations


class EdgekitError(Exception):
    """Base class: a problem edgekit understood and can explain in one line."""

    exit_code = 1

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class UsageError(EdgekitError):
    """Options that conflict or are missing, or an optional package that is not installed."""

    exit_code = 2


class BadInputError(EdgekitError):
    """A model, data file or argument that parses but cannot be used."""

    exit_code = 3


class MissingDependencyError(UsageError):
    """An optional package is needed for this call; the message names the pip command."""


class DeviceError(EdgekitError):
    """A device, interpreter backend or connection problem."""

    exit_code = 4


class BoundError(EdgekitError):
    """A result fell below a bound the user asked for (--strict, --max-drop, ...)."""

    exit_code = 5


class Interrupted(EdgekitError):
    """The run was stopped (Ctrl-C) and kept what it had measured: exit 130."""

    exit_code = 130


ERRORS_BY_EXIT_CODE = {2: UsageError, 3: BadInputError, 4: DeviceError, 5: BoundError}


def error_for_exit_code(code, default: type = EdgekitError) -> type:
    """The EdgekitError class for an exit code that crossed a process boundary (a probe
    child, a device): 2 usage, 3 bad input, 4 device, 5 bound; `default` otherwise."""
    return ERRORS_BY_EXIT_CODE.get(code, default)


def one_line(text: str, limit: int = 300) -> str:
    """`text` (an exception's message, a log) as one line of at most `limit` characters."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def require(module: str, extra: str):
    """Import `module` or raise a MissingDependencyError naming the extra to install."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependencyError(
            f"this needs the Python package '{module.split('.')[0]}', which is not installed "
            f"({exc}); install it with: pip install \"edgekit[{extra}]\""
        ) from exc
