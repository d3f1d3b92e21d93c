"""The training record: what `edgekit train` made, as typed values and as JSON.

`TrainResult` is what `edgekit.train.train` returns and what `NAME.train.json` (schema
`edgekit.train/1`, written beside `NAME.keras`) holds: the data and its split (file names),
the architecture, the preprocessing and labels, the per-epoch history and the test metrics.

The record is also how a trained model keeps its preprocessing and labels on the way to the
device: `edgekit convert NAME.keras` (stage `prepare_data`) calls `use_training_record`,
which reads the record beside the model, checks that it was written for this very file
(SHA-256) and fills in the labels and the image preprocessing that the data did not give, so
that the artifacts' manifests let `Model.classify` take raw images.

Standard library + numpy only (no TensorFlow): the convert pipeline imports it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

from ..artifact import Preprocessing, from_json, to_json
from ..artifact.codec import SchemaError

SCHEMA = "edgekit.train/1"
RECORD_SUFFIX = ".train.json"
REPORT_SUFFIX = ".train.html"
MAX_RECORD_BYTES = 256 * 2**20


def record_path(model_path: str | Path) -> Path:
    """`NAME.train.json` beside `NAME.keras`."""
    model_path = Path(model_path)
    return model_path.with_name(model_path.stem + RECORD_SUFFIX)


def report_path(model_path: str | Path) -> Path:
    """`NAME.train.html` beside `NAME.keras`."""
    model_path = Path(model_path)
    return model_path.with_name(model_path.stem + REPORT_SUFFIX)


# ---------------------------------------------------------------------------------------
# Records


@dataclass(frozen=True)
class BadFile:
    """An image that could not be read, and why."""

    path: str
    reason: str


@dataclass(frozen=True)
class DataInfo:
    """What was trained on: source, classes, images per class and split, what was converted."""

    source: str
    kind: str  # "images" | "arrays"
    class_names: tuple[str, ...]
    sample_shape: tuple[int, ...]  # (height, width, channels) of the model input
    counts: dict[str, tuple[int, ...]]  # split -> images per class
    converted: dict[str, int]  # original colour mode -> images converted to the model's
    bad_files: tuple[BadFile, ...] = ()
    skipped_bad: bool = False
    imbalance: float | None = None  # largest / smallest class in the training split


@dataclass(frozen=True)
class SplitInfo:
    """How the data was split (stratified, seeded), and which samples went where.

    For image folders the names are paths relative to their folder; for arrays they are the
    indices of the samples in x, as text."""

    seed: int
    val_split: float
    test_split: float
    val_source: str | None
    test_source: str | None
    train: tuple[str, ...]
    val: tuple[str, ...]
    test: tuple[str, ...]


@dataclass(frozen=True)
class ArchInfo:
    name: str
    alpha: float | None
    weights: str
    input_shape: tuple[int, ...]  # (1, height, width, channels): the device model's input
    params: int
    trainable_params: int
    base_layers: int
    fine_tuned_layers: int
    reason: str  # why this architecture (the default rule, or "given")


@dataclass(frozen=True)
class EpochRecord:
    """One epoch: training loss/accuracy, validation loss/accuracy, speed."""

    phase: str  # "train" (from scratch), "head" (frozen base) or "fine-tune"
    epoch: int  # 1-based, within the phase
    epochs: int
    loss: float
    accuracy: float
    val_loss: float | None
    val_accuracy: float | None
    learning_rate: float
    seconds: float
    images_per_s: float
    eta_s: float | None = None  # the rest of the planned epochs at this pace


@dataclass(frozen=True)
class BestEpoch:
    phase: str
    epoch: int
    val_loss: float | None


@dataclass(frozen=True)
class ClassMetrics:
    name: str
    precision: float | None
    recall: float | None
    f1: float | None
    support: int


@dataclass(frozen=True)
class TestMetrics:
    """The trained model on the test split (never seen in training or calibration)."""

    samples: int
    accuracy: float
    loss: float
    per_class: tuple[ClassMetrics, ...]
    confusion: tuple[tuple[int, ...], ...]  # [true class][predicted class]


@dataclass(frozen=True)
class Settings:
    epochs: int
    batch_size: int
    learning_rate: float
    schedule: str
    fine_tune: int
    fine_tune_epochs: int
    fine_tune_learning_rate: float
    patience: int
    augment: tuple[str, ...]
    seed: int
    strategy: str


@dataclass(frozen=True)
class ModelFile:
    path: str
    sha256: str
    size_bytes: int


@dataclass(frozen=True)
class TrainResult:
    """What `train` made. `model` is None on a worker that took part in training but does
    not write (multi-worker: the chief writes)."""

    created: str
    versions: dict[str, str | None]
    model: ModelFile | None
    data: DataInfo
    split: SplitInfo
    architecture: ArchInfo
    preprocessing: Preprocessing | None
    labels: tuple[str, ...]
    settings: Settings
    strategy: dict[str, object]
    history: tuple[EpochRecord, ...]
    best: BestEpoch | None
    stopped_early: bool
    interrupted: bool
    test: TestMetrics | None
    seconds: float
    notes: tuple[str, ...] = ()
    record_path: str | None = None
    report_path: str | None = None
    export: object = None  # an edgekit.convert.ConvertResult when artifacts were exported

    def to_json(self) -> dict:
        data = {"schema": SCHEMA}
        for name in self.__dataclass_fields__:
            if name != "export":
                data[name] = to_json(getattr(self, name))
        data["export"] = None if self.export is None else self.export.to_json()
        return data

    def interrupted_error(self):
        """The exit-130 error of a run stopped with Ctrl-C (the best model so far was kept)."""
        from ..errors import Interrupted

        if not self.interrupted:
            return None
        kept = f"the best model so far is in {self.model.path}" if self.model else "nothing was written"
        return Interrupted(f"training stopped by Ctrl-C after {len(self.history)} epoch(s); {kept}")

    def export_error(self):
        """The exit-5 error of an export whose accuracy bound did not hold, else None."""
        return None if self.export is None else self.export.bound_error()


# ---------------------------------------------------------------------------------------
# Reading a record back (for convert)


@dataclass(frozen=True)
class RecordedModel:
    """The parts of a training record that convert uses, validated."""

    model: ModelFile
    labels: tuple[str, ...]
    preprocessing: Preprocessing | None


def read_record(model_path: str | Path) -> RecordedModel | None:
    """The training record beside `model_path`, or None when there is none (or it is some
    other JSON). A file that claims the schema but is malformed raises a SchemaError."""
    path = record_path(model_path)
    if not path.is_file() or path.stat().st_size > MAX_RECORD_BYTES:
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        return None
    what = f"training record {path.name}"
    if not isinstance(data.get("model"), dict):
        raise SchemaError(f"{what}: model: expected an object; the record names no model file")
    return RecordedModel(from_json(ModelFile, data["model"], what),
                         from_json(tuple[str, ...], data.get("labels"), what) if data.get("labels") is not None else (),
                         from_json(Preprocessing, data["preprocessing"], what) if data.get("preprocessing") else None)


def use_training_record(source, request):
    """(request, preprocessing) for convert: the request with the recorded labels and image
    preprocessing filled in where the user gave none, and the recorded preprocessing (for
    the manifest when the data is model-ready arrays). A record written for another version
    of the model file is not used; `source.notes` says so."""
    path = getattr(source, "path", None)
    recorded = read_record(path) if path is not None and Path(path).suffix == ".keras" else None
    if recorded is None:
        return request, None
    if recorded.model.sha256 != getattr(source, "sha256", None):
        if isinstance(getattr(source, "notes", None), list):
            source.notes.append(
                f"{record_path(path).name} was written for another version of {Path(path).name} "
                "(its SHA-256 differs): its labels and preprocessing were not used")
        return request, None
    data = request.data
    changes = {}
    if data.labels is None and recorded.labels:
        changes.update(labels=recorded.labels, labels_from=f"training record {record_path(path).name}")
    prep = recorded.preprocessing
    if prep is not None and not data.explicit_preprocessing:
        changes.update(scale=prep.scale, mean=prep.mean, std=prep.std)
    return (replace(request, data=replace(data, **changes)) if changes else request), prep
