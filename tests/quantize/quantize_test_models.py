"""Models for the quantization tests, built and trained inside the tests (digits: real data)."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras", reason="the quantization tests need edgekit[convert]")

OUTLIER = 1e4  # the planted unit's activation: int8's range stretches over it


def every_layer_model():
    """A Functional model using every layer type the QAT bridge supports, with random
    weights and non-trivial batch-norm statistics (so that a wrong translation shows)."""
    keras.utils.set_random_seed(5)
    layers = keras.layers
    inputs = keras.Input((12, 12, 3), name="image")
    x = layers.Rescaling(1 / 255.0, offset=-0.5, name="rescale")(inputs)
    x = layers.ZeroPadding2D(1, name="pad")(x)
    x = layers.Conv2D(8, 3, name="conv")(x)
    x = layers.BatchNormalization(name="bn")(x)
    x = layers.ReLU(6.0, name="relu6")(x)
    a = layers.DepthwiseConv2D(3, padding="same", name="depthwise")(x)
    a = layers.Activation("relu", name="act")(a)
    b = layers.SeparableConv2D(8, 3, padding="same", activation="relu", name="separable")(x)
    x = layers.Add(name="add")([a, b])
    x = layers.Concatenate(name="concat")([x, a])
    x = layers.MaxPooling2D(2, name="maxpool")(x)
    x = layers.AveragePooling2D(2, name="avgpool")(x)
    pooled = layers.GlobalAveragePooling2D(name="gap")(x)
    x = layers.Reshape((3 * 3 * 16,), name="reshape")(x)
    x = layers.Dropout(0.2, name="dropout")(x)
    x = layers.Concatenate(name="concat2")([x, pooled])
    x = layers.Dense(24, activation="relu", name="dense")(x)
    x = layers.Flatten(name="flatten")(x)
    outputs = layers.Dense(5, activation="softmax", name="probs")(x)
    model = keras.Model(inputs, outputs, name="every_layer")
    randomize_batchnorm(model)
    return model


def randomize_batchnorm(model, seed: int = 0):
    rng = np.random.default_rng(seed)
    for layer in _all_layers(model):
        if isinstance(layer, keras.layers.BatchNormalization):
            gamma, beta, mean, var = layer.get_weights()
            layer.set_weights([
                rng.uniform(0.5, 1.5, gamma.shape).astype(np.float32),
                rng.normal(0, 0.2, beta.shape).astype(np.float32),
                rng.normal(0, 0.3, mean.shape).astype(np.float32),
                rng.uniform(0.5, 2.0, var.shape).astype(np.float32),
            ])


def _all_layers(model):
    for layer in model.layers:
        yield layer
        if hasattr(layer, "layers"):
            yield from _all_layers(layer)


def nested_mobilenet(classes: int = 4):
    """MobileNetV2 (no downloaded weights) nested inside a Sequential with a new head."""
    keras.utils.set_random_seed(6)
    base = keras.applications.MobileNetV2(
        input_shape=(32, 32, 3), alpha=0.35, include_top=False, weights=None
    )
    model = keras.Sequential(
        [keras.Input((32, 32, 3)), base, keras.layers.GlobalAveragePooling2D(name="head_pool"),
         keras.layers.Dense(classes, activation="softmax", name="head")],
        name="transfer",
    )
    randomize_batchnorm(model)
    return model


def planted_outlier_model(train, epochs: int = 10):
    """A digits CNN whose hidden layer 'outlier_dense' has one unit firing at 1e4.

    The unit's outgoing weights are zero, so the float model is unchanged; int8 gives that
    tensor one scale (about 1e4 / 255 = 39), so every other unit (0..10) rounds to zero."""
    from edgekit.models.reference import train_classifier

    keras.utils.set_random_seed(7)
    layers = keras.layers
    inputs = keras.Input((8, 8, 1), name="image")
    x = layers.Conv2D(8, 3, padding="same", activation="relu", name="conv")(inputs)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(33, activation="relu", name="outlier_dense")(x)
    outputs = layers.Dense(10, activation="softmax", name="probs")(x)
    model = keras.Model(inputs, outputs, name="planted")
    train_classifier(model, train.x, train.y, epochs=epochs)
    kernel, bias = model.get_layer("outlier_dense").get_weights()
    kernel[:, -1], bias[-1] = 0.0, OUTLIER
    model.get_layer("outlier_dense").set_weights([kernel, bias])
    head, head_bias = model.get_layer("probs").get_weights()
    head[-1, :] = 0.0
    model.get_layer("probs").set_weights([head, head_bias])
    return model
