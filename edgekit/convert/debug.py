"""`debug`: which layers int8 quantization hurts, and what keeping each in float would buy.

    report = debug("model.keras", calib="calib.npy", eval="eval.npz")
    report.layers[0].name          # the layer int8 hurts most
    report.effects[0]["accuracy"]  # int8 accuracy with that layer kept in float

Layers are ranked by their relative int8 error (`layers.layer_errors`); for the worst few,
the model is quantized again with that layer (and the ops reading its output) in float and
measured end to end on the evaluation data through `edgekit.runtime`.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..errors import UsageError
from ..models import load_model
from ..quantize.recipes import Recipe
from ..runtime.preprocess import DEFAULT_MEAN, DEFAULT_SCALE, DEFAULT_STD
from . import layers as layers_mod
from .manifest import jsonable
from .pipeline import _check_data_pair, _evaluation_summary, _pick_data, _synthetic_inputs, _verify
from .tflite import convert_saved_model, quantize_calibrated

DEFAULT_SAMPLES = 100
DEFAULT_TOP = 5


@dataclass(frozen=True)
class DebugReport:
    source: dict
    evaluation: dict
    int8: dict
    layers: tuple
    effects: tuple
    notes: tuple = ()

    def to_dict(self) -> dict:
        return jsonable({
            "source": self.source,
            "evaluation": self.evaluation,
            "int8": self.int8,
            "layers": [dict(e.to_dict(), rank=i + 1) for i, e in enumerate(self.layers)],
            "float_effects": list(self.effects),
            "notes": list(self.notes),
        })


def debug(
    model: str | Path,
    *,
    calib: str | None,
    eval: str | None = None,  # noqa: A002 - mirrors the CLI flag
    calib_samples: int = 200,
    samples: int = DEFAULT_SAMPLES,
    top: int = DEFAULT_TOP,
    io: str | None = None,
    input_shape: str | None = None,
    custom_objects: str | Path | None = None,
    trust_model: bool = False,
    scale: float | None = None,
    mean=None,
    std=None,
    on_step: Callable[[str], None] | None = None,
) -> DebugReport:
    """Rank `model`'s layers by int8 error; measure the `top` worst kept in float."""
    step = on_step or (lambda message: None)
    if samples <= 0 or top < 0:
        raise UsageError(f"--samples must be positive and --top at least 0; received {samples} and {top}")
    recipe = Recipe("int8", io or "")
    step(f"loading {Path(model).name}")
    source = load_model(Path(model), input_shape=input_shape, custom_objects=custom_objects, trust=trust_model)
    prep = {"scale": DEFAULT_SCALE if scale is None else scale,
            "mean": DEFAULT_MEAN if mean is None else mean, "std": DEFAULT_STD if std is None else std}
    step("loading data")
    calib_set, eval_set, kind = _pick_data(source, [recipe], calib, eval, calib_samples, prep)
    _check_data_pair(calib_set, eval_set, explicit_preprocessing=(scale, mean, std) != (None, None, None))
    eval_x = [eval_set.x] if eval_set is not None else _synthetic_inputs(source)
    eval_y = eval_set.y if eval_set is not None else None
    reference = source.predict(eval_x)
    names = [s.name for s in source.inputs]

    def check(content):
        return _verify(recipe, content, names, eval_x, reference, eval_y)[0]

    with tempfile.TemporaryDirectory(prefix="edgekit-debug-") as tmp:
        step("exporting a static-shape SavedModel")
        source.export_saved_model(Path(tmp) / "saved_model")
        step("calibrating")
        calibrated = convert_saved_model(Path(tmp) / "saved_model", recipe, names, [calib_set.x],
                                         source.batch, calibrate_only=True).content
    plain = quantize_calibrated(calibrated, recipe)
    nodes = layers_mod.op_graph(calibrated, layers_mod.keras_layer_names(source.keras_model))
    step(f"measuring per-layer int8 error on {min(samples, len(eval_x[0]))} samples")
    ranking = layers_mod.layer_errors(calibrated, plain, nodes, eval_x[0][:samples])
    plain_metrics = check(plain)
    effects = _float_effects(calibrated, recipe, ranking, nodes, top, check, step)
    int8 = {k: plain_metrics[k] for k in ("accuracy", "reference_accuracy", "top1_agreement", "snr_db")}
    return DebugReport(source.describe(), _evaluation_summary(eval_set, kind, len(eval_x[0])),
                       int8, tuple(ranking), tuple(effects), tuple(source.notes))


def _float_effects(calibrated, recipe, ranking, nodes, top, check, step) -> list[dict]:
    """For the `top` worst layers: the whole model's numbers with that layer kept in float."""
    by_output = {node.output: node for node in nodes}
    effects, seen = [], []
    for entry in ranking:
        if len(effects) >= top:
            break
        node = by_output.get(entry.tensor)
        if node is None:
            continue
        unit = layers_mod.float_unit(nodes, node)
        float_layers = layers_mod.unit_layers(unit)
        if float_layers in seen:
            continue
        seen.append(float_layers)
        step(f"int8 with {', '.join(float_layers)} in float")
        metrics = check(quantize_calibrated(calibrated, recipe, [n.output for n in unit]))
        effects.append({"layer": entry.name, "float_layers": float_layers,
                        "accuracy": metrics["accuracy"], "top1_agreement": metrics["top1_agreement"],
                        "snr_db": metrics["snr_db"]})
    return effects
