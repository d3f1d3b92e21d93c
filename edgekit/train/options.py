"""What `train` is asked to do, checked in full before TensorFlow is imported.

`TrainOptions` (model, data split, training) and `ExportOptions` (what to convert the result
to) validate themselves: a mistyped architecture, an impossible split or an export the
Edge TPU cannot take is said in well under a second, not after the ~8 s TensorFlow import or
an hour of training.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import UsageError
from ..quantize.qat import STRATEGIES
from ..quantize.recipes import RECIPE_NAMES, Recipe, resolve_recipes

ARCHITECTURES = ("cnn", "mobilenetv2", "mobilenetv3small", "mobilenetv3large", "efficientnet-lite")
AUGMENTATIONS = ("flip", "rotation", "zoom", "contrast")
DEFAULT_AUGMENT = AUGMENTATIONS  # image folders; arrays are not augmented unless asked
MAX_INPUT_SIZE = 1024
DEFAULT_SPLIT = 0.1


def _whole(name: str, value, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise UsageError(f"`{name}` must be a whole number >= {minimum}; received {value!r}")


def _fraction(name: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise UsageError(f"`{name}` is a share of the data between 0 and 1 (e.g. 0.1); received {value!r}")


def parse_input_size(value) -> tuple[int, int] | None:
    """None, 96, "96", "96x128" or (96, 128) -> (height, width)."""
    if value is None:
        return None
    if isinstance(value, str):
        parts = value.lower().replace(",", "x").split("x")
        try:
            value = tuple(int(p) for p in parts)
        except ValueError:
            value = ()
    if isinstance(value, int) and not isinstance(value, bool):
        value = (value, value)
    size = tuple(value) if isinstance(value, (tuple, list)) else ()
    if len(size) == 1:
        size = (size[0], size[0])
    if len(size) != 2 or not all(isinstance(d, int) and not isinstance(d, bool) and 1 <= d <= MAX_INPUT_SIZE
                                 for d in size):
        raise UsageError(
            f"`input_size` is the model's input in pixels, one size or HEIGHTxWIDTH up to {MAX_INPUT_SIZE} "
            f"(e.g. 96 or 96x128); received {value!r}")
    return size


def parse_augment(value) -> tuple[str, ...] | None:
    """None (the default for the data), "none", "flip,zoom" or a sequence of names."""
    if value is None:
        return None
    if isinstance(value, str):
        value = [] if value.strip().lower() in ("none", "") else value.split(",")
    names = tuple(dict.fromkeys(str(v).strip().lower() for v in value))
    unknown = [n for n in names if n not in AUGMENTATIONS]
    if unknown:
        raise UsageError(
            f"`augment` {unknown[0]!r} is unknown; choose from {', '.join(AUGMENTATIONS)} (comma-separated), "
            "or none")
    return names


@dataclass(frozen=True)
class TrainOptions:
    """The model, the split and the training. See `edgekit.train.train` for each field."""

    arch: str | None = None
    input_size: tuple[int, int] | None = None
    alpha: float | None = None
    weights: str = "none"
    channels: int | None = None
    epochs: int = 20
    batch_size: int = 32
    learning_rate: float = 1e-3
    fine_tune: int = 0
    fine_tune_epochs: int | None = None
    patience: int = 3
    val_split: float | None = None  # default 0.1 (none with `val_data`)
    test_split: float | None = None  # default 0.1 (none with `test_data`)
    val_data: str | None = None
    test_data: str | None = None
    augment: tuple[str, ...] | None = None
    seed: int = 0
    strategy: str = "default"
    skip_bad: bool = False

    def __post_init__(self):
        object.__setattr__(self, "input_size", parse_input_size(self.input_size))
        object.__setattr__(self, "augment", parse_augment(self.augment))
        for name in ("val_data", "test_data"):
            value = getattr(self, name)
            if isinstance(value, os.PathLike):
                object.__setattr__(self, name, os.fspath(value))
        weights = str(self.weights) if isinstance(self.weights, os.PathLike) else self.weights
        object.__setattr__(self, "weights", "none" if weights is None else weights)
        self._check_model()
        self._check_training()
        self._check_split()

    def _check_model(self) -> None:
        if self.arch is not None and self.arch not in ARCHITECTURES:
            raise UsageError(f"`arch` {self.arch!r} is unknown; choose from {', '.join(ARCHITECTURES)}")
        if self.alpha is not None and (isinstance(self.alpha, bool) or not isinstance(self.alpha, (int, float))
                                       or not 0.1 <= self.alpha <= 2.0):
            raise UsageError(f"`alpha` is a width multiplier between 0.1 and 2.0 (e.g. 0.35, 1.0); received {self.alpha!r}")
        if self.alpha is not None and self.arch == "cnn":
            raise UsageError("`alpha` sets the width of the MobileNet and EfficientNet-Lite architectures; leave it "
                             "out for cnn")
        if self.channels is not None and self.channels not in (1, 3):
            raise UsageError(f"`channels` is 1 (grayscale) or 3 (RGB); received {self.channels!r}")
        if not isinstance(self.weights, str) or not self.weights:
            raise UsageError(f"`weights` is imagenet, none or the path of a weights file; received {self.weights!r}")
        if self.weights not in ("imagenet", "none") and not Path(self.weights).is_file():
            raise UsageError(
                f"`weights` {self.weights}: no such file; pass imagenet, none, or a Keras weights file "
                "(.weights.h5) or a model trained by edgekit (.keras)")
        if self.weights == "imagenet" and self.channels == 1:
            raise UsageError("`weights` imagenet were trained on RGB images: use `channels` 3 (grayscale images "
                             "are converted), or `weights` none")

    def _check_training(self) -> None:
        for name, minimum in (("epochs", 1), ("batch_size", 1), ("patience", 1), ("fine_tune", 0), ("seed", 0)):
            _whole(name, getattr(self, name), minimum)
        if self.fine_tune_epochs is not None:
            _whole("fine_tune_epochs", self.fine_tune_epochs, 1)
        if not (isinstance(self.learning_rate, (int, float)) and not isinstance(self.learning_rate, bool)
                and math.isfinite(self.learning_rate) and 0 < self.learning_rate < 1):
            raise UsageError(f"`learning_rate` must be between 0 and 1 (e.g. 0.001); received {self.learning_rate!r}")
        if self.fine_tune and not self.pretrained:
            raise UsageError("`fine_tune` unfreezes the top layers of pretrained weights; with `weights` none the "
                             "whole model trains from scratch: leave `fine_tune` out or pass `weights`")
        if self.fine_tune_epochs is not None and not self.fine_tune:
            raise UsageError("`fine_tune_epochs` applies with `fine_tune` N; add it or leave `fine_tune_epochs` out")
        if self.strategy not in STRATEGIES:
            raise UsageError(f"`strategy` {self.strategy!r} is unknown; allowed: {', '.join(STRATEGIES)}")

    def _check_split(self) -> None:
        for name in ("val", "test"):
            split, data = getattr(self, f"{name}_split"), getattr(self, f"{name}_data")
            if split is not None:
                _fraction(f"{name}_split", split)
                if data is not None:
                    raise UsageError(f"`{name}_data` replaces `{name}_split`; pass one of them")
        if self.own_val_split + self.own_test_split > 0.8:
            raise UsageError(
                f"`val_split` {self.own_val_split} + `test_split` {self.own_test_split} leave less than 20% of the "
                "data for training; lower them")

    @property
    def pretrained(self) -> bool:
        return self.weights != "none"

    @property
    def own_val_split(self) -> float:
        """The share of the data held out for validation (0 with `val_data`)."""
        return 0.0 if self.val_data is not None else float(DEFAULT_SPLIT if self.val_split is None else self.val_split)

    @property
    def own_test_split(self) -> float:
        return 0.0 if self.test_data is not None else float(DEFAULT_SPLIT if self.test_split is None else self.test_split)

    @property
    def fine_tune_learning_rate(self) -> float:
        """Fine-tuning the top of a pretrained base: a tenth of the head's rate."""
        return self.learning_rate / 10

    @property
    def planned_fine_tune_epochs(self) -> int:
        return 0 if not self.fine_tune else (self.fine_tune_epochs or self.epochs)


@dataclass(frozen=True)
class ExportOptions:
    """What to convert the trained model to, in the same call (see edgekit.convert)."""

    recipes: tuple[Recipe, ...] = ()
    edgetpu: bool = False
    calib_samples: int = 200
    on_check: object = field(default=None, compare=False)

    @property
    def wanted(self) -> bool:
        return bool(self.recipes)


def export_options(export=(), *, io: str | None = None, qat: bool = False, edgetpu: bool = False,
                   calib_samples: int = 200, on_check=None) -> ExportOptions:
    """ExportOptions from recipe names ("int8", "float16,int8", "all"), `qat` and `edgetpu`.
    `edgetpu` alone exports int8 (the Edge TPU compiles the int8 artifact)."""
    names = [export] if isinstance(export, str) else list(export or ())
    names = [n.strip() for text in names for n in str(text).split(",") if n.strip()]
    names = [r for n in names for r in (RECIPE_NAMES if n == "all" else (n,))]
    if "qat-int8" in names:
        raise UsageError("qat-int8 is exported with `qat` (it fine-tunes first); leave it out of `export`")
    if edgetpu and "int8" not in names and not qat:
        names.append("int8")
    _whole("calib_samples", calib_samples, 1)
    if not names and not qat:
        if io is not None:
            raise UsageError("`io` applies to exported int8 models; add `export` int8 (or `qat`)")
        return ExportOptions(calib_samples=calib_samples)
    recipes = tuple(resolve_recipes(names + (["qat-int8"] if qat else []), io))
    if edgetpu and not any(r.name in ("int8", "qat-int8") and r.io in ("int8", "uint8") for r in recipes):
        raise UsageError("`edgetpu` needs integer inputs/outputs: use `io` int8 or uint8, not float32")
    return ExportOptions(recipes, edgetpu, calib_samples, on_check)
