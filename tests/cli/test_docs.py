"""Docs can't drift: every command has help text and appears in the README's reference."""

from __future__ import annotations

import re
from pathlib import Path

import typer.main

from edgekit_testing import run_cli
from edgekit.cli import app

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def _commands():
    """{"convert": command, ..., "edgetpu check": command}: sub-app commands by their full name."""
    found = {}

    def walk(group, prefix):
        for name, command in group.commands.items():
            if hasattr(command, "commands"):  # a group (a typer sub-app)
                assert (command.help or "").strip(), f"{prefix}{name} has no help text"
                walk(command, f"{prefix}{name} ")
            else:
                found[f"{prefix}{name}"] = command

    walk(typer.main.get_command(app), "")
    return found


def test_every_command_has_help_and_a_readme_entry():
    commands = _commands()
    assert {"convert", "inspect", "demo", "edgetpu check", "edgetpu compile", "devices list",
            "device check", "device setup"} <= set(commands)
    reference = README.split("## Command reference", 1)[1]
    for name, command in commands.items():
        assert (command.help or "").strip(), f"{name} has no help text"
        assert re.search(rf"^### `edgekit {name}", reference, re.M), f"{name} missing from README"
        for param in command.params:
            if param.name != "help" and getattr(param, "help", None) is not None:
                assert param.help.strip(), f"{name} {param.name} has empty help"


def test_every_command_has_json_output():
    for name, command in _commands().items():
        assert any("--json" in p.opts for p in command.params), f"{name} has no --json"


def test_quick_start_has_exactly_two_commands():
    section = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```(?:bash|sh)?\n(.*?)```", section, re.S)
    commands = [ln for b in blocks for ln in b.strip().splitlines() if ln.strip() and not ln.startswith("#")]
    assert len(commands) == 2, commands
    assert "edgekit demo" in commands[0]
    ci = (Path(__file__).resolve().parents[2] / ".ci" / "run").read_text()
    test_command = commands[1].split("&&")[-1].strip()
    assert test_command in ci, (test_command, "must be what .ci/run runs")


def test_help_exits_zero_for_every_command():
    for name in _commands():
        result = run_cli(*name.split(), "--help")
        assert result.returncode == 0 and "Usage" in result.stdout, (name, result.stderr)
