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


def require(module: str, extra: str):
    """Import `module` or raise a MissingDependencyError naming the extra to install."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependencyError(
            f"this needs the Python package '{module.split('.')[0]}', which is not installed "
            f"({exc}); install it with: pip install \"edgekit[{extra}]\""
        ) from None
