"""Architectures made for devices, and the rule that picks one.

Every model is `base` (a nested Keras model: the feature extractor that pretrained weights
fill) followed by a head: global average pooling, dropout 0.2 and a softmax Dense layer
named `probs`. Choices favour int8 and the Edge TPU: ReLU6 (or ReLU) rather than swish,
batch normalization folded into convolutions at conversion, no squeeze-excite, static shapes.

| arch | what | smallest input | ImageNet weights |
|---|---|---|---|
| cnn | 2 conv (3x3, BN, ReLU6) per stage, max-pooling until ~4 px, 16..128 filters | 8 px | no |
| mobilenetv2 | Keras MobileNetV2 (ReLU6), width `alpha` | 32 px | alpha 0.35, 0.5, 0.75, 1.0, 1.3, 1.4 |
| mobilenetv3small / large | Keras MobileNetV3, minimalistic (ReLU, 3x3, no SE, no hard-swish) | 32 px | alpha 1.0 |
| efficientnet-lite | EfficientNet-Lite0 layout (MBConv, ReLU6, no SE), width `alpha` | 32 px | no |

Inputs: pixels scaled to [0, 1] for cnn, to [-1, 1] for the others (what their ImageNet
weights expect); the scaling is recorded as the model's preprocessing, not built into it.

Keras is imported inside the functions that build models.
"""

from __future__ import annotations

import contextlib
import io
import os
import warnings
from pathlib import Path

from .. import _tf
from ..errors import BadInputError, DeviceError, UsageError, one_line

MIN_SIDE = {"cnn": 8, "mobilenetv2": 32, "mobilenetv3small": 32, "mobilenetv3large": 32, "efficientnet-lite": 32}
IMAGENET_ALPHAS = {"mobilenetv2": (0.35, 0.5, 0.75, 1.0, 1.3, 1.4), "mobilenetv3small": (1.0,),
                   "mobilenetv3large": (1.0,)}
# (scale, mean, std): pixel p -> (p * scale - mean) / std
PIXEL_SCALING = {"cnn": (1 / 255, 0.0, 1.0)}
SIGNED_SCALING = (1 / 127.5, 1.0, 1.0)
SCRATCH_MOBILENET_IMAGES = 5000  # below this, a MobileNet from scratch overfits; the cnn does better
DROPOUT = 0.2
MAX_CNN_FILTERS = 128
BN_MOMENTUM = 0.9


def choose(arch: str | None, weights: str, side: int, train_images: int) -> tuple[str, str]:
    """(architecture, why): `arch` when given, else the default rule."""
    if arch is not None:
        return arch, "given"
    if weights != "none":
        return "mobilenetv2", "pretrained weights: MobileNetV2 transfers best and maps fully to int8 and the Edge TPU"
    if side < MIN_SIDE["mobilenetv2"]:
        return "cnn", f"input {side} px is below the 32 px MobileNets need: the small CNN"
    if train_images >= SCRATCH_MOBILENET_IMAGES:
        return "mobilenetv2", (f"{train_images} training images (>= {SCRATCH_MOBILENET_IMAGES}) from scratch: "
                               "MobileNetV2")
    return "cnn", (f"{train_images} training images from scratch (< {SCRATCH_MOBILENET_IMAGES}): the small CNN "
                   "generalizes better than a MobileNet and trains far faster")


def default_alpha(arch: str, alpha: float | None) -> float | None:
    if arch == "cnn":
        return None
    return 1.0 if alpha is None else float(alpha)


def scaling(arch: str) -> tuple[float, float, float]:
    return PIXEL_SCALING.get(arch, SIGNED_SCALING)


def check(arch: str, shape: tuple[int, int, int], weights: str, alpha: float | None, arrays: bool = False) -> None:
    """Refuse an input or weights the architecture cannot take, in one line, before Keras runs."""
    height, width, channels = shape
    least = MIN_SIDE[arch]
    if min(height, width) < least:
        fix = "use `arch` cnn (8 px and up)" if arch != "cnn" else "use larger images"
        grow = ("save larger arrays (or train on an image folder, resized to `input_size`)" if arrays
                else f"pass `input_size` {max(least, 32)} or more (images are resized)")
        raise BadInputError(
            f"{arch} needs inputs of at least {least}x{least} px; the model input would be {height}x{width}: "
            f"{grow}, or {fix}")
    if weights != "imagenet":
        return
    if arch not in IMAGENET_ALPHAS:
        raise UsageError(f"Keras has no ImageNet weights for {arch}; use `arch` mobilenetv2, mobilenetv3small or "
                         "mobilenetv3large, or `weights` none")
    if channels != 3:
        raise BadInputError(
            f"`weights` imagenet were trained on RGB images (3 channels); this data has {channels}: train on "
            "image folders (converted to RGB), save x with 3 channels, or use `weights` none")
    if alpha not in IMAGENET_ALPHAS[arch]:
        allowed = ", ".join(f"{a:g}" for a in IMAGENET_ALPHAS[arch])
        raise UsageError(f"Keras has ImageNet weights for {arch} with `alpha` {allowed}; received {alpha:g}")


# ---------------------------------------------------------------------------------------
# Building


def build(arch: str, shape: tuple[int, int, int], classes: int, *, alpha: float | None, weights: str):
    """The classifier: `base` (frozen when `weights` are pretrained) + pooling/dropout/softmax."""
    keras = _tf.keras()
    base = _base(arch, shape, alpha, weights)
    if weights not in ("imagenet", "none"):
        load_base_weights(base, Path(weights), arch)
    pretrained = weights != "none"
    base.trainable = not pretrained
    if not pretrained:
        _quick_batch_norm(base)
    inputs = keras.Input(shape, name="image")
    features = base(inputs, training=False) if pretrained else base(inputs)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(features)
    x = keras.layers.Dropout(DROPOUT, name="dropout")(x)
    outputs = keras.layers.Dense(classes, activation="softmax", name="probs")(x)
    return keras.Model(inputs, outputs, name=f"edgekit_{arch.replace('-', '_')}")


def _quick_batch_norm(base) -> None:
    """Batch-norm statistics that follow training within a few hundred steps (momentum 0.9,
    PyTorch's default): with Keras' 0.99/0.999 a small data set ends training before the
    moving statistics have caught up, and the model is wrong in inference mode."""
    keras = _tf.keras()
    for layer in base.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.momentum = BN_MOMENTUM


def _base(arch: str, shape, alpha, weights):
    keras = _tf.keras()
    apps = keras.applications
    keras_weights = "imagenet" if weights == "imagenet" else None
    if arch == "cnn":
        return cnn_base(shape)
    if arch == "efficientnet-lite":
        return efficientnet_lite_base(shape, alpha)
    maker = {"mobilenetv2": apps.MobileNetV2, "mobilenetv3small": apps.MobileNetV3Small,
             "mobilenetv3large": apps.MobileNetV3Large}[arch]
    extra = {} if arch == "mobilenetv2" else {"minimalistic": True, "include_preprocessing": False}
    out = io.StringIO()
    try:  # Keras prints "Downloading data from ..." on stdout, which --json keeps for JSON
        with contextlib.redirect_stdout(out), warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "weights for input shape (224, 224) will be loaded"
            base = maker(input_shape=shape, alpha=alpha, include_top=False, weights=keras_weights, **extra)
    except Exception as exc:  # noqa: BLE001 - Keras raises plain Exception for a failed download
        raise _weights_error(arch, exc, out.getvalue()) from exc
    return keras.Model(base.input, base.output, name="base")


def _weights_error(arch: str, exc: Exception, printed: str):
    text = one_line(str(exc), 300)
    if "URL fetch failure" in text or "fetch failure" in text.lower():
        url = next((w for w in printed.split() if w.startswith("http")), "")
        name = url.rsplit("/", 1)[-1] or "the weights file"
        cache = Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras") / "models"
        return DeviceError(
            f"`weights` imagenet: Keras could not download {name} ({text.split(':')[-1].strip()}); Keras keeps it "
            f"in {cache}/: run once where there is internet, or copy {name} there, or pass `weights` with a local "
            "weights file, or none")
    return BadInputError(f"{arch}: Keras cannot build it: {text}")


def cnn_base(shape):
    """Stages of two 3x3 convolutions (BN, ReLU6) and a 2x2 max-pooling, until ~4 px."""
    keras = _tf.keras()
    layers = keras.layers
    inputs = keras.Input(shape, name="base_input")
    x, side, filters, stage = inputs, min(shape[:2]), 16, 1
    while True:
        for conv in (1, 2):
            x = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"conv{stage}_{conv}")(x)
            x = layers.BatchNormalization(name=f"bn{stage}_{conv}")(x)
            x = layers.ReLU(6.0, name=f"relu{stage}_{conv}")(x)
        if side // 2 < 4 or stage == 5:
            break
        x = layers.MaxPooling2D(2, name=f"pool{stage}")(x)
        side, filters, stage = side // 2, min(filters * 2, MAX_CNN_FILTERS), stage + 1
    return keras.Model(inputs, x, name="base")


# EfficientNet-Lite0: (expand ratio, kernel, stride, output filters, repeats) per stage
LITE_BLOCKS = ((1, 3, 1, 16, 1), (6, 3, 2, 24, 2), (6, 5, 2, 40, 2), (6, 3, 2, 80, 3), (6, 5, 1, 112, 3),
               (6, 5, 2, 192, 4), (6, 3, 1, 320, 1))


def _round_filters(filters: int, alpha: float) -> int:
    scaled = max(8, int(filters * alpha + 4) // 8 * 8)
    return scaled + 8 if scaled < 0.9 * filters * alpha else scaled


def efficientnet_lite_base(shape, alpha: float):
    """EfficientNet-Lite0's layout: MBConv blocks with ReLU6 and no squeeze-excite; the stem
    (32) and head (1280) are not scaled, as in the Lite models."""
    keras = _tf.keras()
    layers = keras.layers
    inputs = keras.Input(shape, name="base_input")
    x = layers.Conv2D(32, 3, strides=2, padding="same", use_bias=False, name="stem_conv")(inputs)
    x = layers.ReLU(6.0, name="stem_relu")(layers.BatchNormalization(name="stem_bn")(x))
    block = 0
    for expand, kernel, stride, filters, repeats in LITE_BLOCKS:
        for i in range(repeats):
            block += 1
            x = _mbconv(layers, x, expand, kernel, stride if i == 0 else 1, _round_filters(filters, alpha), block)
    x = layers.Conv2D(1280, 1, use_bias=False, name="head_conv")(x)
    x = layers.ReLU(6.0, name="head_relu")(layers.BatchNormalization(name="head_bn")(x))
    return keras.Model(inputs, x, name="base")


def _mbconv(layers, x, expand: int, kernel: int, stride: int, filters: int, block: int):
    name = f"block{block}"
    skip, channels = x, int(x.shape[-1])
    if expand != 1:
        x = layers.Conv2D(channels * expand, 1, use_bias=False, name=f"{name}_expand")(x)
        x = layers.ReLU(6.0, name=f"{name}_expand_relu")(layers.BatchNormalization(name=f"{name}_expand_bn")(x))
    x = layers.DepthwiseConv2D(kernel, strides=stride, padding="same", use_bias=False, name=f"{name}_dw")(x)
    x = layers.ReLU(6.0, name=f"{name}_dw_relu")(layers.BatchNormalization(name=f"{name}_dw_bn")(x))
    x = layers.Conv2D(filters, 1, use_bias=False, name=f"{name}_project")(x)
    x = layers.BatchNormalization(name=f"{name}_project_bn")(x)
    if stride == 1 and channels == filters:
        x = layers.Add(name=f"{name}_add")([skip, x])
    return x


# ---------------------------------------------------------------------------------------
# Weights from a file


def load_base_weights(base, path: Path, arch: str) -> None:
    """Fill `base` from a weights file: `.weights.h5` saved from a base of the same
    architecture (`model.get_layer("base").save_weights(...)`), or a `.keras` model trained by
    edgekit (its `base` is copied)."""
    name = path.name
    if name.endswith(".keras"):
        weights = _keras_base_weights(path)
        try:
            base.set_weights(weights)
            return
        except ValueError as exc:
            raise _mismatch(path, arch, exc) from exc
    if not name.endswith(".weights.h5"):
        raise UsageError(f"`weights` {name}: expected a Keras weights file (.weights.h5) or an edgekit-trained "
                         "model (.keras)")
    try:
        base.load_weights(str(path))
    except Exception as exc:  # noqa: BLE001 - h5py and Keras raise many types for a file that does not fit
        raise _mismatch(path, arch, exc) from exc


def _keras_base_weights(path: Path):
    from ..models.scan import scan_model_file

    keras = _tf.keras()
    scan_model_file(path, "keras", set())
    try:
        model = keras.models.load_model(path, compile=False, safe_mode=True)
        return model.get_layer("base").get_weights()
    except Exception as exc:  # noqa: BLE001 - Keras raises many types for a bad file
        raise BadInputError(f"`weights` {path.name}: not a model trained by edgekit (it has no part named 'base' to copy): "
                            f"{one_line(str(exc), 200)}") from exc


def _mismatch(path: Path, arch: str, exc: Exception) -> BadInputError:
    return BadInputError(
        f"`weights` {path.name} do not fit {arch} at this width and channel count ({one_line(str(exc), 160)}); "
        "pass the `arch`, `alpha` and `channels` the weights were saved with")
