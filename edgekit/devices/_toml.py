"""TOML parsing: tomllib (Python 3.11+) or tomli (the `remote` extra on Python 3.10)."""

from __future__ import annotations

import sys

from ..errors import BadInputError, require


def parse_toml(text: str, what: str) -> dict:
    """Parse `text`; a syntax error becomes a one-line BadInputError naming `what`."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10 only
        tomllib = require("tomli", "remote")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise BadInputError(f"{what} is not valid TOML: {exc}; fix the file") from exc
    except RecursionError as exc:
        raise BadInputError(f"{what} nests arrays or tables too deeply to be an inventory; fix the file") from exc
