"""Reference models built in code (no downloads): used by tests and benchmarks."""

from __future__ import annotations

from .. import _tf


def digits_cnn(num_classes: int = 10):
    """A small Functional CNN for 8x8x1 digits: two convolutions, pooling, two dense layers."""
    keras = _tf.keras()
    layers = keras.layers
    inputs = keras.Input((8, 8, 1), name="image")
    x = layers.Conv2D(16, 3, padding="same", activation="relu", name="conv1")(inputs)
    x = layers.Conv2D(32, 3, padding="same", activation="relu", name="conv2")(x)
    x = layers.MaxPooling2D(2, name="pool")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(64, activation="relu", name="dense")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="probs")(x)
    return keras.Model(inputs, outputs, name="digits_cnn")


def train_classifier(model, x, y, *, epochs: int = 15, batch_size: int = 32, seed: int = 0,
                     learning_rate: float = 2e-3, on_epoch=None):
    """Fit `model` with Adam + sparse cross-entropy; `on_epoch(epoch, logs)` reports progress."""
    keras = _tf.keras()
    keras.utils.set_random_seed(seed)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    callbacks = []
    if on_epoch is not None:
        callbacks.append(keras.callbacks.LambdaCallback(on_epoch_end=on_epoch))
    history = model.fit(x, y, epochs=epochs, batch_size=batch_size, verbose=0, callbacks=callbacks)
    return history.history
