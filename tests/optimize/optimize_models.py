"""The model of the optimize tests, trained inside the tests on scikit-learn's digits.

`wide_planted_model`: a digits MLP-CNN whose layer 'outlier_dense' has one unit firing at
1e4 (its outgoing weights are zero, so the float model is unchanged). int8 gives that tensor
one scale (~1e4 / 255), so every other unit rounds to 0: plain int8 loses ~85 points. The head
'probs' has 128 x 10 weights (over the converter's 1024-weight floor for dynamic-range
quantization), so the dynamic recipe quantizes its input on the fly and loses them too. Kept
in float, 'outlier_dense' and 'probs' make a selective int8 mix that loses nothing, at ~205 KiB
(float32 ~585 KiB, float16 ~295 KiB)."""

from __future__ import annotations

import pytest

keras = pytest.importorskip("keras", reason="the optimize tests convert: they need edgekit[convert]")

OUTLIER = 1e4


def wide_planted_model(train, epochs: int = 8):
    from edgekit.models.reference import train_classifier

    keras.utils.set_random_seed(7)
    layers = keras.layers
    inputs = keras.Input((8, 8, 1), name="image")
    x = layers.Conv2D(16, 3, padding="same", activation="relu", name="conv")(inputs)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(128, activation="relu", name="hidden")(x)
    x = layers.Dense(128, activation="relu", name="outlier_dense")(x)
    outputs = layers.Dense(10, activation="softmax", name="probs")(x)
    model = keras.Model(inputs, outputs, name="wide_planted")
    train_classifier(model, train.x, train.y, epochs=epochs)
    kernel, bias = model.get_layer("outlier_dense").get_weights()
    kernel[:, -1], bias[-1] = 0.0, OUTLIER
    model.get_layer("outlier_dense").set_weights([kernel, bias])
    head, head_bias = model.get_layer("probs").get_weights()
    head[-1, :] = 0.0
    model.get_layer("probs").set_weights([head, head_bias])
    return model
