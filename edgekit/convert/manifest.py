"""The manifest that travels with every artifact: what it is, where it came from, how it did.

Written as `NAME_RECIPE.json` next to the `.tflite` and embedded in the `.tflite` as the
metadata entry `edgekit_manifest`, so a lone file still describes itself.
"""

from __future__ import annotations

import datetime as _dt
import importlib.metadata
import json
import math

SCHEMA = "edgekit.manifest/1"


def package_versions() -> dict:
    versions = {}
    for dist in ("edgekit", "tensorflow", "keras", "tf-keras", "ai-edge-litert", "numpy"):
        try:
            versions[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            versions[dist] = None
    return versions


def jsonable(value):
    """Replace non-finite floats (inf SNR of an exact match) by strings JSON can hold."""
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


def build_manifest(
    *,
    source: dict,
    recipe: dict,
    inputs: list[dict],
    outputs: list[dict],
    preprocessing: dict | None,
    labels: list[str] | None,
    calibration: dict | None,
    size: dict,
    conversion_seconds: float,
    verification: dict,
    training: dict | None = None,
    selective: dict | None = None,
) -> dict:
    """The manifest; `training` (QAT fine-tuning) and `selective` (layers kept in float for
    an accuracy bound) appear only for the artifacts they concern."""
    extra = {key: value for key, value in (("training", training), ("selective", selective))
             if value is not None}
    return jsonable(
        {
            "schema": SCHEMA,
            "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "versions": package_versions(),
            "source": source,
            "recipe": recipe,
            "inputs": inputs,
            "outputs": outputs,
            "preprocessing": preprocessing,
            "labels": labels,
            "calibration": calibration,
            "size": size,
            "conversion_seconds": round(conversion_seconds, 3),
            "verification": verification,
            **extra,
        }
    )


def dumps(manifest: dict) -> str:
    return json.dumps(manifest, indent=2, sort_keys=False, allow_nan=False) + "\n"
