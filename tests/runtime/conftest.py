"""Pytest fixtures for runtime tests. Nothing here imports TensorFlow."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from runtime_fixtures import FIXTURES, fixture_path


@pytest.fixture(scope="session")
def expected():
    """Inputs and reference outputs saved with the fixtures (see make_fixtures.py)."""
    with np.load(FIXTURES / "expected.npz") as data:
        return {key: data[key] for key in data.files}


@pytest.fixture
def model_copy(tmp_path):
    """Copy a fixture into tmp_path (to put sidecar files next to it)."""

    def copy(name: str):
        target = tmp_path / f"{name}.tflite"
        shutil.copyfile(fixture_path(name), target)
        return target

    return copy
