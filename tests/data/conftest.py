"""Helpers that write small image folders with Pillow inside each test's tmp_path."""

import numpy as np
import pytest
from PIL import Image


def write_image(path, size=(6, 4), mode="RGB", value=128):
    """A solid image of `size` (width, height) and Pillow `mode`; returns its path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    channels = {"L": 1, "RGB": 3, "RGBA": 4}[mode]
    shape = (size[1], size[0]) if channels == 1 else (size[1], size[0], channels)
    Image.fromarray(np.full(shape, value, dtype=np.uint8), mode).save(path)
    return path


@pytest.fixture(name="write_image")
def write_image_fixture():
    """The `write_image` helper, as a fixture (test modules do not import conftest)."""
    return write_image


@pytest.fixture
def class_folder(tmp_path):
    """tmp_path/classes/{cat,dog}/... with 2 cats (value 10) and 3 dogs (value 200)."""
    root = tmp_path / "classes"
    for i in range(2):
        write_image(root / "cat" / f"c{i}.png", value=10)
    for i in range(3):
        write_image(root / "dog" / f"d{i}.jpg", value=200)
    return root
