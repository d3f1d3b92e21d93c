"""Tiny Keras models built inside the tests, and a digits CNN trained once per session."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras", reason="the converter tests need edgekit[convert]")


def sequential_model():
    keras.utils.set_random_seed(1)
    return keras.Sequential(
        [
            keras.Input((6, 6, 2)),
            keras.layers.Conv2D(4, 3, activation="relu"),
            keras.layers.Flatten(),
            keras.layers.Dense(5, activation="softmax"),
        ]
    )


def functional_model():
    keras.utils.set_random_seed(2)
    inputs = keras.Input((8, 8, 1), name="image")
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu")(inputs)
    skip = x
    x = keras.layers.Conv2D(8, 3, padding="same")(x)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.Add()([x, skip])
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(10, activation="softmax")(x)
    return keras.Model(inputs, outputs)


@keras.saving.register_keras_serializable(package="edgekit_tests")
class TinySubclassed(keras.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.hidden = keras.layers.Dense(16, activation="relu")
        self.head = keras.layers.Dense(3)

    def call(self, x):
        return self.head(self.hidden(x))


def subclassed_model(build=True):
    keras.utils.set_random_seed(3)
    model = TinySubclassed()
    if build:
        model(np.zeros((1, 12), np.float32))
    return model


def weight_heavy_model():
    """Dense layers dominate the file: int8 must shrink it to about a quarter."""
    keras.utils.set_random_seed(4)
    return keras.Sequential(
        [keras.Input((64,)), keras.layers.Dense(256, activation="relu"),
         keras.layers.Dense(256, activation="relu"), keras.layers.Dense(10)]
    )


@pytest.fixture(scope="session")
def digits_model(tmp_path_factory):
    """The demo's CNN trained on digits (real handwriting); path plus calib/eval files."""
    from edgekit.data import digits_split
    from edgekit.models.reference import digits_cnn, train_classifier

    folder = tmp_path_factory.mktemp("digits")
    train, test = digits_split(seed=0, test_fraction=0.25)
    model = digits_cnn()
    train_classifier(model, train.x, train.y, epochs=10)
    path = folder / "digits.keras"
    model.save(path)
    np.savez(folder / "calib.npz", x=train.x, y=train.y)
    np.savez(folder / "eval.npz", x=test.x, y=test.y)
    np.save(folder / "calib.npy", train.x[:100])
    return {"model": path, "calib": folder / "calib.npz", "eval": folder / "eval.npz",
            "calib_npy": folder / "calib.npy", "keras": model, "test": test}
