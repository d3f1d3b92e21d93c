"""Session fixtures for the quantization tests: digits data, a trained digits CNN, a
deliberately quantization-sensitive model (all trained here, from data that ships)."""

from __future__ import annotations

import numpy as np
import pytest

from quantize_test_models import planted_outlier_model


@pytest.fixture(scope="session")
def digits_files(tmp_path_factory):
    """train/val/test .npz files of the digits (val is cut from the training part).

    The test part is 35% (629 images): one image is then 0.16 accuracy points, finer than the
    0.2-point QAT criterion, which a 450-image test part could not resolve."""
    from edgekit.data import digits_split

    folder = tmp_path_factory.mktemp("qdigits")
    train, test = digits_split(seed=0, test_fraction=0.35)
    rng = np.random.default_rng(0)
    order = rng.permutation(len(train))
    fit, val = train.take(order[150:]), train.take(order[:150])
    for name, ds in (("train", fit), ("val", val), ("test", test), ("all_train", train)):
        np.savez(folder / f"{name}.npz", x=ds.x, y=ds.y)
    paths = {name: folder / f"{name}.npz" for name in ("train", "val", "test", "all_train")}
    return {"folder": folder, "data": {"train": fit, "val": val, "test": test}, **paths}


@pytest.fixture(scope="session")
def digits_cnn_file(digits_files):
    """The demo's digits CNN trained to convergence (25 epochs) on the training part."""
    from edgekit.models.reference import digits_cnn, train_classifier

    model = digits_cnn()
    train = digits_files["data"]["train"]
    train_classifier(model, train.x, train.y, epochs=25)
    path = digits_files["folder"] / "digits_cnn.keras"
    model.save(path)
    return path


@pytest.fixture(scope="session")
def planted_file(digits_files):
    model = planted_outlier_model(digits_files["data"]["train"])
    path = digits_files["folder"] / "planted.keras"
    model.save(path)
    return path
