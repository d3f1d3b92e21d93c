"""Session fixtures of the optimize tests: digits .npz files and the wide planted model."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="session")
def digits_npz(tmp_path_factory):
    """train.npz (1,168 labelled digits) and test.npz (629), and the same without labels."""
    from edgekit.data import digits_split

    folder = tmp_path_factory.mktemp("odigits")
    train, test = digits_split(seed=0, test_fraction=0.35)
    np.savez(folder / "train.npz", x=train.x, y=train.y)
    np.savez(folder / "test.npz", x=test.x, y=test.y)
    np.savez(folder / "test_unlabelled.npz", x=test.x)
    return {"folder": folder, "train": folder / "train.npz", "test": folder / "test.npz",
            "unlabelled": folder / "test_unlabelled.npz", "train_set": train}


@pytest.fixture(scope="session")
def wide_model(digits_npz):
    from optimize_models import wide_planted_model

    path = digits_npz["folder"] / "wide.keras"
    wide_planted_model(digits_npz["train_set"]).save(path)
    return path
