"""Session data for the training tests: scikit-learn's digits as a class folder of PNGs and as
an .npz (real handwriting that ships with the package; nothing is downloaded)."""

from __future__ import annotations

import numpy as np
import pytest

from train_helpers import write_digit_pngs


@pytest.fixture(scope="session")
def digits_pngs(tmp_path_factory):
    """1,797 8x8 grayscale PNGs in one folder per digit."""
    return write_digit_pngs(tmp_path_factory.mktemp("digits_png") / "digits")


@pytest.fixture(scope="session")
def digits_npz(tmp_path_factory):
    from sklearn.datasets import load_digits

    digits = load_digits()
    path = tmp_path_factory.mktemp("digits_npz") / "digits.npz"
    np.savez(path, x=(digits.images[..., None] / 16).astype(np.float32), y=digits.target,
             class_names=np.array([str(i) for i in range(10)]))
    return path


@pytest.fixture(scope="session")
def png_run(digits_pngs, tmp_path_factory):
    """The small CNN trained on the PNG folder and exported to int8 (one run, shared)."""
    from edgekit.train import train

    out = tmp_path_factory.mktemp("png_run")
    steps = []
    result = train(digits_pngs, output=out / "digits.keras", epochs=12, augment="none", export=["int8"],
                   on_step=steps.append)
    return {"result": result, "folder": out, "steps": steps, "model": out / "digits.keras"}
