"""Paths to the checked-in .tflite fixtures (made by tests/fixtures/make_fixtures.py)."""

from __future__ import annotations

from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
MODEL_NAMES = ("float32", "int8", "uint8", "two_inputs")


def fixture_path(name: str) -> Path:
    return FIXTURES / f"{name}.tflite"


def fixture_bytes(name: str) -> bytes:
    return fixture_path(name).read_bytes()
