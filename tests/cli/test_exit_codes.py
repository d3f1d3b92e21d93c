"""Exit codes: an internal error is exit 1 with one line and the traceback in a log file."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer

from edgekit import errors
from edgekit.cli import handle_errors


@pytest.mark.parametrize("exc,code", [
    (errors.UsageError("u"), 2), (errors.BadInputError("b"), 3), (errors.MissingDependencyError("m"), 2),
    (errors.DeviceError("d"), 4), (errors.BoundError("x"), 5),
])
def test_error_classes_map_to_documented_exit_codes(exc, code, capfd):
    @handle_errors
    def command():
        raise exc

    with pytest.raises(typer.Exit) as info:
        command()
    assert info.value.exit_code == code
    assert f"error: {exc.message}" in capfd.readouterr().err


def test_a_bug_is_exit_1_with_a_log_and_no_traceback(capfd):
    @handle_errors
    def command():
        return {}["missing"]

    with pytest.raises(typer.Exit) as info:
        command()
    assert info.value.exit_code == 1
    err = capfd.readouterr().err
    assert "Traceback" not in err and "internal error: KeyError" in err
    log = Path(re.search(r"traceback in (\S+\.log)", err).group(1))
    text = log.read_text()
    assert "Traceback" in text and "return {}[\"missing\"]" in text
    log.unlink()


def test_messages_with_square_brackets_are_printed_verbatim(capfd):
    @handle_errors
    def command():
        raise errors.MissingDependencyError("add deb [signed-by=/usr/share/keyrings/coral.gpg] to apt")

    with pytest.raises(typer.Exit):
        command()
    assert "[signed-by=/usr/share/keyrings/coral.gpg]" in capfd.readouterr().err
