"""The manifest that travels with every artifact: what it is, where it came from, how it did.

Written as `NAME_RECIPE.json` beside the `.tflite` and embedded in the `.tflite` as the
metadata entry `edgekit_manifest`, so a lone file still describes itself. A manifest is
untrusted input when it is read (a `.tflite` from elsewhere): `Manifest.from_json` validates
every field once, here, and everything behind it reads typed attributes.

Schema history: `edgekit.manifest/1` (edgekit 0.1: `size.bytes`, `conversion_seconds`) is
read and upgraded; `edgekit.manifest/2` is written.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .codec import SchemaError, dumps, from_json, loads, to_json
from .records import (
    Comparison, DataSummary, DetectionSpec, InputRecord, Preprocessing, RecipeRecord, TensorSpec,
)

SCHEMA_NAME = "edgekit.manifest"
SCHEMA = f"{SCHEMA_NAME}/2"
METADATA_NAME = "edgekit_manifest"
VERSIONED_PACKAGES = ("edgekit", "tensorflow", "keras", "tf-keras", "ai-edge-litert", "numpy", "litert-quantizer",
                      "litert-torch", "torch")


@dataclass(frozen=True)
class SourceInfo:
    """The model an artifact was converted from."""

    file: str
    sha256: str | None = None
    format: str | None = None
    kind: str | None = None
    inputs: tuple[InputRecord, ...] = ()


@dataclass(frozen=True)
class EvaluationInfo:
    """The data an artifact was verified on: --eval, held-out calibration data, or synthetic."""

    kind: str
    samples: int
    source: str | None = None
    has_labels: bool = False
    note: str | None = None


@dataclass(frozen=True)
class Verification:
    """The artifact measured against the float source model before it was written."""

    samples: int
    max_abs_error: float
    rmse: float
    snr_db: float
    cosine: float
    top1_agreement: float | None = None
    accuracy: float | None = None
    reference_accuracy: float | None = None
    accuracy_delta: float | None = None  # accuracy - reference_accuracy (a fraction)
    data: EvaluationInfo | None = None
    per_output: tuple[Comparison, ...] = ()

    @classmethod
    def from_comparison(cls, c: Comparison, data: EvaluationInfo | None = None,
                        per_output: tuple[Comparison, ...] = ()) -> "Verification":
        delta = None if c.accuracy is None or c.reference_accuracy is None else c.accuracy - c.reference_accuracy
        return cls(c.samples, c.max_abs_error, c.rmse, c.snr_db, c.cosine, c.top1_agreement, c.accuracy,
                   c.reference_accuracy, delta, data, per_output)


@dataclass(frozen=True)
class SizeInfo:
    size_bytes: int
    float32_size_bytes: int | None = None
    ratio_vs_float32: float | None = None


@dataclass(frozen=True)
class ArtifactFile:
    """The sidecar's record of the .tflite it describes."""

    file: str
    sha256: str
    size_bytes: int


@dataclass(frozen=True, kw_only=True)
class Manifest:
    schema: str = SCHEMA
    created: str = ""
    versions: dict[str, str | None] = field(default_factory=dict)
    source: SourceInfo
    recipe: RecipeRecord
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    preprocessing: Preprocessing | None = None
    labels: tuple[str, ...] | None = None
    calibration: DataSummary | None = None
    size: SizeInfo
    conversion_s: float = 0.0
    verification: Verification | None = None
    # Sections that only some artifacts have; free-form JSON objects written by edgekit.
    training: dict[str, Any] | None = None  # qat-int8: fine-tuning settings and history
    selective: dict[str, Any] | None = None  # int8 with layers kept in float for a bound
    edgetpu: dict[str, Any] | None = None  # int8-edgetpu: the compiler's results
    derived_from: dict[str, Any] | None = None  # the artifact this one was made from
    optimize: dict[str, Any] | None = None  # edgekit optimize: budgets, target, every candidate, why this one
    note: str | None = None
    artifact: ArtifactFile | None = None  # sidecar only: the .tflite's hash and size
    detection: DetectionSpec | None = None  # how a detection model's outputs are read (layout, anchors)

    @classmethod
    def from_json(cls, data: Any, what: str = "the manifest") -> "Manifest":
        """A validated Manifest from parsed JSON (schema 1 is upgraded); SchemaError else."""
        if not isinstance(data, dict):
            raise SchemaError(f"{what} is a JSON {type(data).__name__}, not an object")
        schema = data.get("schema")
        if not isinstance(schema, str) or not schema.startswith(SCHEMA_NAME + "/"):
            raise SchemaError(f"{what} is not an edgekit manifest (schema {schema!r}, expected {SCHEMA})")
        version = schema.rpartition("/")[2]
        if version == "1":
            data = upgrade_v1(data)
        elif version != "2":
            raise SchemaError(f"{what} has schema {schema}, newer than this edgekit reads ({SCHEMA}); upgrade edgekit")
        return from_json(cls, data, what)

    @classmethod
    def loads(cls, text: str | bytes, what: str = "the manifest") -> "Manifest":
        return cls.from_json(loads(text, what), what)

    def to_json(self) -> dict:
        return to_json(self)

    def dumps(self) -> str:
        return dumps(self)

    def with_artifact(self, path: Path, sha256: str) -> "Manifest":
        return replace(self, artifact=ArtifactFile(path.name, sha256, path.stat().st_size))


def package_versions() -> dict[str, str | None]:
    import importlib.metadata  # here, not at import: it costs ~18 ms of `import edgekit.runtime`

    versions = {}
    for dist in VERSIONED_PACKAGES:
        try:
            versions[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            versions[dist] = None
    return versions


def now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


# ---------------------------------------------------------------------------------------
# Schema 1 -> 2


def upgrade_v1(data: dict) -> dict:
    """A schema-1 manifest (edgekit 0.1) in schema-2 form; values are validated afterwards."""
    data = dict(data, schema=SCHEMA)
    size = data.get("size")
    if isinstance(size, dict):
        data["size"] = _upgrade_size(size)
    if "conversion_seconds" in data:
        data["conversion_s"] = data.pop("conversion_seconds")
    artifact = data.get("artifact")
    if isinstance(artifact, dict) and "bytes" in artifact:
        data["artifact"] = {k: v for k, v in artifact.items() if k != "bytes"} | {"size_bytes": artifact["bytes"]}
    for key in ("inputs", "outputs"):
        if isinstance(data.get(key), list):
            data[key] = [_upgrade_tensor(t, i) for i, t in enumerate(data[key])]
    return data


def _upgrade_size(size: dict) -> dict:
    if "int8_bytes" in size:  # an int8-edgetpu manifest of schema 1
        return {"size_bytes": size.get("bytes"), "float32_size_bytes": None, "ratio_vs_float32": None}
    return {"size_bytes": size.get("bytes"), "float32_size_bytes": size.get("float32_bytes"),
            "ratio_vs_float32": size.get("ratio_vs_float32")}


def _upgrade_tensor(tensor, position: int):
    if not isinstance(tensor, dict):
        return tensor
    tensor = dict(tensor)
    tensor.setdefault("index", -1)  # Edge TPU manifests of schema 1 did not record it
    for key in ("scale", "zero_point"):
        if isinstance(tensor.get(key), list):  # per-channel I/O: keep the first, as schema 1 readers did
            tensor[key] = tensor[key][0] if tensor[key] else None
    return tensor


# ---------------------------------------------------------------------------------------
# Reading and writing artifacts


def read_embedded(content: bytes, source: str = "the model") -> Manifest | None:
    """The manifest embedded in a .tflite, or None when it carries none. SchemaError when it
    carries one that is not a valid manifest; BadInputError for a malformed flatbuffer."""
    from ..runtime.tflite_file import read_metadata

    payload = read_metadata(content, METADATA_NAME, source)
    if payload is None:
        return None
    return Manifest.loads(payload, f"the manifest embedded in {source}")


def sidecar_path(model_path: Path) -> Path:
    return Path(model_path).with_suffix(".json")


def read_sidecar(model_path: Path) -> Manifest | None:
    """`<stem>.json` beside a model when it is an edgekit manifest; None when there is no such
    file or it is some other JSON; SchemaError when it claims the schema but is invalid."""
    path = sidecar_path(model_path)
    try:
        text = path.read_bytes()
    except OSError:
        return None
    try:
        data = loads(text, str(path))
    except SchemaError:
        return None  # not JSON at all: some other file that happens to share the name
    if not (isinstance(data, dict) and str(data.get("schema", "")).startswith(SCHEMA_NAME)):
        return None
    return Manifest.from_json(data, f"the manifest {path.name}")


def embed(content: bytes, manifest: Manifest, source: str = "the model") -> bytes:
    """A new .tflite with `manifest` embedded as the `edgekit_manifest` metadata entry."""
    from ..runtime.tflite_file import embed_metadata

    return embed_metadata(content, METADATA_NAME, manifest.dumps().encode("utf-8"), source)


def write_artifact(path: Path, content: bytes, manifest: Manifest, *, embed_manifest: bool = True) -> Manifest:
    """Write the .tflite (with the manifest embedded, unless the bytes must stay exactly as
    they are) and then its sidecar, each atomically; returns the sidecar's manifest."""
    from .._files import atomic_write_bytes, atomic_write_text, sha256_file

    path = Path(path)
    atomic_write_bytes(path, embed(content, manifest, path.name) if embed_manifest else content)
    sidecar = manifest.with_artifact(path, sha256_file(path))
    atomic_write_text(sidecar_path(path), sidecar.dumps())
    return sidecar
