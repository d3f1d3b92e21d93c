"""What a conversion is asked to do, checked in full before TensorFlow is imported.

`ConvertRequest` gathers the options of `convert` (and of `debug`, `optimize`, `train
--export`, which build one too) into small typed groups and validates them: usage errors,
missing files and impossible combinations are reported in well under a second, before the
~8 s it takes to import the converter stack.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from ..data.load import check_spec
from ..errors import BadInputError, UsageError
from ..models.sources import FLOAT_TFLITE_FORMATS, check_extras, check_source_options, source_format
from ..quantize.recipes import Recipe
from .selective import AccuracyBound


@dataclass(frozen=True)
class LoadOptions:
    """How to load the source model (see edgekit.models.load_source_model). `layout` (PyTorch
    only): nhwc feeds NCHW image inputs channels last (the default), nchw keeps them."""

    batch: int | None = None
    input_shape: str | None = None
    custom_objects: str | Path | None = None
    trust_model: bool = False
    layout: str | None = None

    def __post_init__(self):
        if self.batch is not None and (isinstance(self.batch, bool) or not isinstance(self.batch, int) or self.batch < 1):
            raise UsageError(f"`batch` must be a positive whole number; received {self.batch!r}")
        if self.custom_objects is not None:
            path = Path(self.custom_objects)
            if not path.is_file() or path.suffix != ".py":
                raise BadInputError(
                    f"`custom_objects` {path}: expected an existing Python file (.py) that defines the "
                    "model's custom layers"
                )


LABELS_FILE = "labels file "  # DataOptions.labels_from for labels read from a file: + its path


@dataclass(frozen=True)
class DataOptions:
    """Calibration and evaluation data, and how image folders become model inputs."""

    calib: str | None = None
    eval: str | None = None  # noqa: A003 - the name users know (--eval)
    calib_samples: int = 200
    scale: float | None = None
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None
    labels: tuple[str, ...] | None = None
    labels_from: str | None = None  # where `labels` came from, for messages
    calib_name: str | None = None  # what manifests call `calib` (default: the spec itself)
    eval_name: str | None = None  # what manifests call `eval`

    def __post_init__(self):
        if isinstance(self.calib_samples, bool) or not isinstance(self.calib_samples, int) or self.calib_samples < 1:
            raise UsageError(f"`calib_samples` must be a positive whole number; received {self.calib_samples!r}")
        if self.scale is not None and not (math.isfinite(self.scale) and self.scale > 0):
            raise UsageError(f"`scale` must be a positive number; received {self.scale!r}")
        for name in ("mean", "std"):
            values = getattr(self, name)
            if values is not None and (not values or not all(math.isfinite(v) for v in values)):
                raise UsageError(f"`{name}` takes finite numbers, one or one per channel; received {values!r}")
        if self.std is not None and any(v == 0 for v in self.std):
            raise UsageError(f"`std` must not contain 0 (pixels are divided by it); received {list(self.std)}")
        for spec, role in ((self.calib, "calibration"), (self.eval, "evaluation")):
            if spec is not None:
                check_spec(spec, role)

    @property
    def explicit_preprocessing(self) -> bool:
        return (self.scale, self.mean, self.std) != (None, None, None)

    def prep_args(self) -> dict:
        from ..runtime.preprocess import DEFAULT_MEAN, DEFAULT_SCALE, DEFAULT_STD

        return {"scale": DEFAULT_SCALE if self.scale is None else self.scale,
                "mean": DEFAULT_MEAN if self.mean is None else self.mean,
                "std": DEFAULT_STD if self.std is None else self.std}


@dataclass(frozen=True)
class EdgeTpuOptions:
    """Also compile the int8 artifact for the Coral Edge TPU (see edgekit.edgetpu)."""

    segments: int | None = None
    search_delegate: bool = False
    on_check: object = field(default=None, compare=False)  # a callable given the pre-flight check


def edgetpu_options(enabled: bool, segments: int | None = None, search_delegate: bool = False,
                    on_check=None) -> EdgeTpuOptions | None:
    """EdgeTpuOptions when `enabled`; compile settings without it are a usage error."""
    if not enabled:
        if segments is not None or search_delegate:
            raise UsageError("`segments`/`search_delegate` apply when compiling for the Edge TPU; add `edgetpu`")
        return None
    return EdgeTpuOptions(segments, search_delegate, on_check)


@dataclass(frozen=True)
class ConvertRequest:
    model: Path
    recipes: tuple[Recipe, ...]
    data: DataOptions = DataOptions()
    load: LoadOptions = LoadOptions()
    options: dict | None = None  # extra TFLite converter attributes (edgekit.convert.tflite)
    qat: object = None  # edgekit.quantize.qat.QatSettings for qat-int8
    bound: AccuracyBound | None = None
    best_effort: bool = False
    edgetpu: EdgeTpuOptions | None = None
    source_format: str = field(init=False, default="")  # keras, h5, savedmodel, tflite, pt2, pickle

    def __post_init__(self):
        object.__setattr__(self, "model", Path(self.model))
        object.__setattr__(self, "recipes", tuple(self.recipes))
        # exists, and is a kind of model edgekit loads
        object.__setattr__(self, "source_format", source_format(self.model))
        check_recipes(self)
        check_source(self)

    def input_paths(self) -> list[Path]:
        """Files and folders this run reads (no output may be one of them); built-in data
        names ('digits') are not paths."""
        specs = [self.data.calib, self.data.eval, self.load.custom_objects]
        if self.qat is not None:
            specs += [self.qat.train_data, self.qat.val_data]
        paths = [self.model] + [Path(s) for s in specs if s]
        if self.data.labels_from and self.data.labels_from.startswith(LABELS_FILE):
            paths.append(Path(self.data.labels_from[len(LABELS_FILE):]))
        return [p for p in paths if p.exists()]

    @property
    def float_tflite_source(self) -> bool:
        """True for a float .tflite or PyTorch model (quantized by LiteRT Quantizer)."""
        return self.source_format in FLOAT_TFLITE_FORMATS


def check_source(request: ConvertRequest) -> None:
    """Options that fit the kind of model, and the extra it needs installed (the exact pip line)."""
    fmt, name, load, data = request.source_format, request.model.name, request.load, request.data
    check_source_options(fmt, name, layout=load.layout, trust=load.trust_model, input_shape=load.input_shape,
                         custom_objects=load.custom_objects)
    if request.float_tflite_source and any(r.needs_training for r in request.recipes):
        raise UsageError(
            f"qat-int8 fine-tunes a Keras model; {name} is not one: use the int8 recipe (with `max_drop` or "
            "`min_agreement` to keep the ops int8 hurts most in float)"
        )
    if request.options and request.float_tflite_source:
        raise UsageError(f"`options` set TFLite converter attributes; {name} is quantized by LiteRT Quantizer")
    if load.layout == "nchw" and any(spec is not None and Path(spec).is_dir() for spec in (data.calib, data.eval)):
        raise UsageError(
            "image folders are fed channels last (NHWC); with `layout` nchw pass model-ready .npy/.npz arrays "
            "shaped (N, C, H, W), or leave `layout` out"
        )
    check_extras(fmt, request.recipes, name)


def check_recipes(request: ConvertRequest) -> None:
    """Recipes, QAT settings, an accuracy bound and --edgetpu that fit together."""
    recipes = request.recipes
    if not recipes:
        raise UsageError("no recipe chosen; pass one or more recipes in `recipes`")
    needs = [r.name for r in recipes if r.needs_calibration]
    if needs and request.data.calib is None:
        raise UsageError(
            f"{', '.join(needs)} needs calibration data: pass `calib` with a folder of images, a .npy "
            "or .npz file, or a built-in dataset name such as 'digits' (edgekit never calibrates on "
            "random data)"
        )
    _check_qat(recipes, request.qat)
    _check_bound(recipes, request.bound, request.data.eval, request.best_effort)
    if request.edgetpu is not None:
        _check_edgetpu(recipes)


def _check_qat(recipes, qat) -> None:
    wants = any(r.needs_training for r in recipes)
    if wants and qat is None:
        raise UsageError(
            "qat-int8 needs fine-tuning data: pass `qat` settings with `train_data` (an image folder "
            "with one subfolder per class, an .npz with x and y, or 'digits')"
        )
    if qat is not None and not wants:
        raise UsageError("fine-tuning settings (`qat`) apply to the qat-int8 recipe only; add it")


def _check_bound(recipes, bound, eval_spec, best_effort) -> None:
    if bound is None:
        if best_effort:
            raise UsageError("`best_effort` applies with `max_drop` or `min_agreement`; add one")
        return
    if not any(r.name == "int8" for r in recipes):
        raise UsageError("`max_drop`/`min_agreement` bound the int8 recipe (keeping layers in float); add the int8 recipe")
    if eval_spec is None:
        raise UsageError(
            "`max_drop`/`min_agreement` need `eval` data to measure the int8 model on (with labels for `max_drop`)"
        )


def _check_edgetpu(recipes) -> None:
    int8 = [r for r in recipes if r.name in ("int8", "qat-int8")]
    if not int8:
        raise UsageError("`edgetpu` compiles the int8 artifact: add the int8 recipe (with `calib`) or qat-int8")
    if not any(r.io in ("int8", "uint8") for r in int8):
        raise UsageError("`edgetpu` needs integer inputs/outputs: use `io` int8 or uint8, not float32")


def read_labels(path: str | Path | None) -> tuple[str, ...] | None:
    """One label per line of a UTF-8 text file (blank lines skipped)."""
    if path is None:
        return None
    path = Path(path)
    if not path.is_file():
        raise BadInputError(f"labels file not found: {path}; pass a text file with one label per line")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise BadInputError(f"labels file {path} is not UTF-8 text; one label per line") from exc
    except OSError as exc:
        raise BadInputError(f"cannot read labels file {path}: {exc.strerror or exc}") from exc
    labels = tuple(line.strip() for line in lines if line.strip())
    if not labels:
        raise BadInputError(f"labels file {path} is empty; one label per line")
    return labels
