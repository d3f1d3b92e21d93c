"""Reference models built in code (no downloads): used by `edgekit demo`, tests and benchmarks."""

from __future__ import annotations

from .. import _tf


def digits_cnn(num_classes: int = 10, upsample: int = 4, widths: tuple[int, ...] = (32, 64, 128)):
    """The demo's CNN for 8x8x1 digits: upsampled to 32x32 in the model, then three
    convolution + pooling stages, global pooling and a softmax.

    Sized to be compute-bound on a CPU (about 7 MMAC a call): a model of a few thousand
    multiply-adds runs in microseconds, where the per-call overhead of the interpreter and
    of int8 (de)quantization dominates and int8 can come out slower than float32."""
    keras = _tf.keras()
    layers = keras.layers
    inputs = keras.Input((8, 8, 1), name="image")
    x = layers.UpSampling2D(upsample, interpolation="bilinear", name="upsample")(inputs)
    for i, width in enumerate(widths, 1):
        x = layers.Conv2D(width, 3, padding="same", activation="relu", name=f"conv{i}")(x)
        x = layers.MaxPooling2D(2, name=f"pool{i}")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    x = layers.Dropout(0.2, name="dropout")(x)
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
