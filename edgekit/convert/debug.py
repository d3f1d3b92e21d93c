"""`debug`: which layers int8 quantization hurts, and what keeping each in float would buy.

    report = debug("model.keras", calib="calib.npy", eval="eval.npz")
    report.layers[0].name          # the layer int8 hurts most
    report.effects[0].accuracy     # int8 accuracy with that layer kept in float

Layers are ranked by their relative int8 error (`layers.layer_errors`); for the worst few,
the model is quantized again with that layer (and the ops reading its output) in float and
measured end to end on the evaluation data through `edgekit.runtime`. The model, data and
float reference come from the convert pipeline's own stages.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .._files import temp_folder
from ..artifact import EvaluationInfo, SourceInfo, Verification, to_json
from ..errors import UsageError
from ..quantize.recipes import Recipe
from . import engines, layers as layers_mod
from .request import ConvertRequest, DataOptions, LoadOptions
from .stages import export_source, load_source, prepare_data, source_info, verify
from .tflite import convert_saved_model, quantize_calibrated

SCHEMA = "edgekit.debug/1"
DEFAULT_SAMPLES = 100
DEFAULT_TOP = 5


@dataclass(frozen=True)
class FloatEffect:
    """int8 with one suspect layer (and the ops reading its output) kept in float."""

    layer: str
    float_layers: tuple[str, ...]
    accuracy: float | None
    top1_agreement: float | None
    snr_db: float


@dataclass(frozen=True)
class DebugReport:
    source: SourceInfo
    evaluation: EvaluationInfo
    int8: Verification
    layers: tuple
    effects: tuple[FloatEffect, ...]
    notes: tuple[str, ...] = ()

    def to_json(self) -> dict:
        return {
            "schema": SCHEMA, "source": to_json(self.source), "evaluation": to_json(self.evaluation),
            "int8": to_json(self.int8),
            "layers": [dict(e.to_dict(), rank=i + 1) for i, e in enumerate(self.layers)],
            "float_effects": to_json(self.effects), "notes": list(self.notes),
        }


def debug(
    model: str | Path,
    *,
    calib: str | None,
    eval: str | None = None,  # noqa: A002 - the name users know (--eval)
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
    layout: str | None = None,
    on_step: Callable[[str], None] | None = None,
) -> DebugReport:
    """Rank `model`'s layers by int8 error; measure the `top` worst kept in float.

    `model` is anything `convert` takes; a float .tflite or PyTorch model is quantized with
    LiteRT Quantizer (ops kept in float by its per-op recipe entries), a Keras model with the
    TFLite converter, as `convert` does."""
    step = on_step or (lambda message: None)
    if samples <= 0 or top < 0:
        raise UsageError(f"`samples` must be positive and `top` at least 0; received {samples} and {top}")
    recipe = Recipe("int8", io or "")
    data = DataOptions(calib, eval, calib_samples, scale, None if mean is None else tuple(mean),
                       None if std is None else tuple(std))
    request = ConvertRequest(Path(model), (recipe,), data, LoadOptions(input_shape=input_shape,
                             custom_objects=custom_objects, trust_model=trust_model, layout=layout))
    source = load_source(request, step)
    prepared = prepare_data(source, request, step)
    evaluation = prepared.evaluation

    def check(content: bytes) -> Verification:
        return verify(recipe, content, evaluation)[0]

    calibrated, quantize = _calibrated(source, recipe, prepared, step)
    plain = quantize(calibrated, ())
    if engines.engine_for(recipe, source) == engines.QUANTIZER:
        nodes = engines.op_graph(calibrated)
    else:
        nodes = layers_mod.op_graph(calibrated, layers_mod.keras_layer_names(source.keras_model))
    x = evaluation.x[0]
    step(f"measuring per-layer int8 error on {min(samples, len(x))} samples")
    ranking = layers_mod.layer_errors(calibrated, plain, nodes, x[:samples])
    effects = float_effects(calibrated, quantize, ranking, nodes, top, check, step)
    return DebugReport(source_info(source), evaluation.info, check(plain), tuple(ranking), tuple(effects),
                       tuple(source.notes))


def _calibrated(source, recipe: Recipe, prepared, step):
    """(the float model the ranking runs, quantize(that model, float_tensors) -> int8 bytes) for
    the engine `convert` uses on this source."""
    with temp_folder("edgekit-debug-") as tmp:
        exported = export_source(source, Path(tmp), step)
        step("calibrating")
        if engines.engine_for(recipe, source) == engines.QUANTIZER:
            float_model = exported.float_tflite
            ranges = engines.calibrate(float_model, recipe, prepared.calibration.x, source.batch)
            return float_model.content, lambda model, tensors: engines.quantize(float_model, recipe, ranges,
                                                                                tensors).content
        calibrated = convert_saved_model(exported.folder, recipe, list(prepared.evaluation.input_names),
                                         [prepared.calibration.x], source.batch, calibrate_only=True).content
    return calibrated, lambda model, tensors: quantize_calibrated(model, recipe, list(tensors))


def float_effects(calibrated, quantize, ranking, nodes, top, check, step) -> list[FloatEffect]:
    """For the `top` worst layers: the whole model's numbers with that layer kept in float
    (quantize(calibrated, float_tensors) makes each int8 model)."""
    by_output = {node.output: node for node in nodes}
    effects, seen = [], []
    for entry in ranking:
        if len(effects) >= top:
            break
        node = by_output.get(entry.tensor)
        if node is None:
            continue
        unit = layers_mod.float_unit(nodes, node)
        float_layers = tuple(layers_mod.unit_layers(unit))
        if float_layers in seen:
            continue
        seen.append(float_layers)
        step(f"int8 with {', '.join(float_layers)} in float")
        v = check(quantize(calibrated, tuple(n.output for n in unit)))
        effects.append(FloatEffect(entry.name, float_layers, v.accuracy, v.top1_agreement, v.snr_db))
    return effects
