"""The candidate artifacts: converted once on the host with the public convert API
(`edgekit.convert.run`), into a temporary folder, each with its verification on the eval data.

One request converts every recipe; with an accuracy budget the int8 recipe carries it as a
bound (`best_effort`, so a miss still gives the best mix), and the plain int8 model's numbers
come back from the selective record when a mix replaced it."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from ..artifact import Manifest
from ..convert import ConvertRequest, ConvertResult, run
from ..quantize.recipes import Recipe


@dataclass(frozen=True)
class Built:
    """One candidate artifact (on disk, or numbers only for plain int8 replaced by a mix)."""

    key: str  # "float16", "int8", "int8-selective", "int8-plain", "qat-int8", ...
    label: str
    recipe: str
    io: str
    path: Path | None
    manifest: Manifest | None
    size_bytes: int | None
    accuracy: float | None
    top1_agreement: float | None
    reference_accuracy: float | None
    float_layers: tuple[str, ...] = ()
    conversion_s: float = 0.0
    delegate: str | None = None  # "edgetpu": compiled for and timed on a Coral Edge TPU


@dataclass(frozen=True)
class Conversion:
    built: tuple[Built, ...]
    result: ConvertResult
    seconds: float


def convert_candidates(request: ConvertRequest, folder: Path, step) -> Conversion:
    """Every recipe of `request`, converted and verified into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    result = run(request, output=folder, force=True, on_step=step)
    seconds = time.perf_counter() - started
    built = [b for artifact in result.artifacts for b in from_artifact(artifact, result.reference_accuracy)]
    if result.edgetpu is not None:
        built.append(edgetpu_candidate(result.edgetpu, next(b for b in built if b.recipe == "int8" and b.path)))
    return Conversion(tuple(built), result, seconds)


def edgetpu_candidate(compiled, int8: Built) -> Built:
    """The int8 artifact as compiled by edgetpu_compiler. Its accuracy is the int8 model's:
    the Edge TPU runs the same integer model (which no computer here can check)."""
    from ..artifact import read_sidecar

    path = Path(compiled.path)
    return Built("int8-edgetpu", f"{int8.label} on the Edge TPU", recipe="int8-edgetpu", io=int8.io, path=path,
                 manifest=read_sidecar(path), size_bytes=path.stat().st_size, accuracy=int8.accuracy,
                 top1_agreement=int8.top1_agreement, reference_accuracy=int8.reference_accuracy,
                 float_layers=int8.float_layers, delegate="edgetpu")


def from_artifact(artifact, reference_accuracy: float | None) -> list[Built]:
    m = artifact.manifest
    v = m.verification
    recipe = artifact.recipe
    key = recipe.name if recipe.io == default_io(recipe.name) else f"{recipe.name}-{recipe.io}io"
    common = dict(recipe=recipe.name, io=recipe.io, path=artifact.path, manifest=m, size_bytes=m.size.size_bytes,
                  accuracy=None if v is None else v.accuracy, top1_agreement=None if v is None else v.top1_agreement,
                  reference_accuracy=reference_accuracy, conversion_s=m.conversion_s)
    record = m.selective or {}
    layers = tuple(record.get("float_layers") or ())
    if not layers:
        return [Built(key, key, **common)]
    mix = Built(f"{key}-selective", f"{key} + float {', '.join(layers)}", **{**common, "float_layers": layers})
    return [plain_int8(key, record, common), mix]


def plain_int8(key: str, record: dict, common: dict) -> Built:
    """Plain int8's numbers from the selective record (its model was replaced by the mix)."""
    plain = record.get("plain_int8") or {}
    cost = record.get("cost_vs_plain_int8") or {}
    return Built(f"{key}-plain", f"{key} (plain)", **{
        **common, "path": None, "manifest": None, "size_bytes": cost.get("plain_int8_size_bytes"),
        "accuracy": plain.get("accuracy"), "top1_agreement": plain.get("top1_agreement"),
        "reference_accuracy": plain.get("reference_accuracy", common["reference_accuracy"])})


def default_io(name: str) -> str:
    return Recipe(name).io
