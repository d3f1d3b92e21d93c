"""The benchmark's evaluation data, preprocessed as the first model's manifest records.

Reads the manifest and the input shape from the flatbuffer alone (no interpreter), so data
can be prepared before any untrusted model is loaded."""

from __future__ import annotations

from pathlib import Path

from ..data import Dataset, load_data
from ..errors import BadInputError
from ..runtime.model import find_manifest
from ..runtime.preprocess import DEFAULT_MEAN, DEFAULT_SCALE, DEFAULT_STD
from ..runtime.tflite_file import describe, read_tflite_file


def load_bench_data(spec, model_path: str | Path, name: str | None = None) -> Dataset:
    """`spec` (an .npz with x and optional y, or an image folder with one subfolder per
    class) as model-ready inputs for the model at `model_path`; `name`: what the result calls
    the data (default: the spec)."""
    path = Path(model_path)
    content = read_tflite_file(path)
    info = describe(content, str(path))
    if len(info.inputs) != 1:
        raise BadInputError(f"benchmark data works with single-input models; {path.name} has {len(info.inputs)} inputs")
    manifest, _ = find_manifest(content, path, str(path))
    prep = None if manifest is None else manifest.preprocessing
    return load_data(
        spec, info.inputs[0].shape, role="evaluation",
        scale=DEFAULT_SCALE if prep is None else prep.scale, mean=DEFAULT_MEAN if prep is None else prep.mean,
        std=DEFAULT_STD if prep is None else prep.std, name=name,
    )
