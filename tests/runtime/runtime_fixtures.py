"""The checked-in .tflite fixtures (made by tests/fixtures/make_fixtures.py) and pytest
fixtures over them. Nothing here imports TensorFlow.

This is a plain module rather than a conftest.py: tests elsewhere do `from conftest
import ...`, which picks up whichever conftest module pytest imported first.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
MODEL_NAMES = ("float32", "int8", "uint8", "two_inputs")


def fixture_path(name: str) -> Path:
    return FIXTURES / f"{name}.tflite"


def fixture_bytes(name: str) -> bytes:
    return fixture_path(name).read_bytes()


@pytest.fixture(scope="session")
def expected():
    """Inputs and reference outputs saved with the fixtures (see make_fixtures.py)."""
    with np.load(FIXTURES / "expected.npz") as data:
        return {key: data[key] for key in data.files}


@pytest.fixture
def model_copy(tmp_path):
    """Copy a fixture into tmp_path (to put sidecar files next to it)."""

    def copy(name: str) -> Path:
        target = tmp_path / f"{name}.tflite"
        shutil.copyfile(fixture_path(name), target)
        return target

    return copy
