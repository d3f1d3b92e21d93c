"""`convert`: a model file -> verified, self-describing .tflite artifacts, one per recipe.

Order of work: check every argument and output path (before TensorFlow is imported), load
the model and the data, convert each recipe in memory and verify it through
`edgekit.runtime` against the float model, and only then write the artifacts (temp file +
rename; each manifest after its .tflite). The stages are in `stages.py`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

from .._files import check_outputs, output_folder, output_lock, temp_folder
from ..artifact import EvaluationInfo, SourceInfo, to_json
from ..errors import BadInputError, BoundError, UsageError
from ..quantize import qat as qat_mod
from ..quantize.recipes import Recipe
from ..report.format import fmt_pct
from . import engines
from .layers import keras_layer_names
from .request import LABELS_FILE, ConvertRequest, DataOptions, EdgeTpuOptions, LoadOptions, read_labels
from .selective import AccuracyBound, enforce
from .stages import (
    Artifact, Candidate, Exported, Prepared, convert_recipe, export_source, load_source, prepare_data,
    replace_content, source_info, with_float32, write_artifacts,
)
from .tflite import convert_saved_model

SCHEMA = "edgekit.convert/1"


@dataclass(frozen=True)
class ConvertResult:
    source: SourceInfo
    evaluation: EvaluationInfo
    reference_accuracy: float | None
    artifacts: tuple[Artifact, ...] = ()
    notes: tuple[str, ...] = ()
    unmet_bounds: tuple[str, ...] = ()  # best-effort artifacts written below their bound
    edgetpu: object = None  # an edgekit.edgetpu.CompileResult when the int8 artifact was compiled

    def to_json(self) -> dict:
        return {
            "schema": SCHEMA, "source": to_json(self.source), "evaluation": to_json(self.evaluation),
            "reference_accuracy": self.reference_accuracy,
            "artifacts": [_summary(a) for a in self.artifacts],
            "notes": list(self.notes), "unmet_bounds": list(self.unmet_bounds),
            "edgetpu": None if self.edgetpu is None else self.edgetpu.to_json(),
        }

    def bound_error(self) -> BoundError | None:
        """The exit-5 error of a --best-effort run whose bound did not hold, else None."""
        if not self.unmet_bounds:
            return None
        return BoundError(f"no mix of float layers met {'; '.join(self.unmet_bounds)}; the best attempt "
                          "was written (`best_effort`)")


def _summary(artifact: Artifact) -> dict:
    m, v = artifact.manifest, artifact.manifest.verification
    return to_json({
        "recipe": artifact.recipe.name, "io": artifact.recipe.io, "path": str(artifact.path),
        "manifest_path": str(artifact.manifest_path), "size_bytes": m.size.size_bytes,
        "ratio_vs_float32": m.size.ratio_vs_float32, "top1_agreement": v.top1_agreement,
        "accuracy": v.accuracy, "accuracy_delta": v.accuracy_delta, "max_abs_error": v.max_abs_error,
        "snr_db": v.snr_db, "conversion_s": m.conversion_s, "engine": m.recipe.engine,
    })


def output_paths(model_path: Path, recipes, output: Path | None) -> dict[Recipe, Path]:
    """Where each recipe's .tflite goes: NAME_RECIPE.tflite beside the model, in -o DIR, or -o FILE."""
    stem = model_path.name if model_path.is_dir() else model_path.stem
    folder = output_folder(output, model_path.parent, len(recipes), f"{len(recipes)} recipes")
    if folder is None:
        return {recipes[0]: output}
    return {r: folder / f"{stem}_{r.name}.tflite" for r in recipes}


def planned_files(request: ConvertRequest, paths: dict[Recipe, Path]) -> list[Path]:
    """Every file the run may write: artifacts, manifests, Edge TPU outputs."""
    files = [p for path in paths.values() for p in (path, path.with_suffix(".json"))]
    if request.edgetpu is not None:
        from ..edgetpu.compiler import output_paths as compiled_paths

        int8 = next(p for r, p in paths.items() if r.name in ("int8", "qat-int8") and r.io != "float32")
        compiled = compiled_paths(int8, None, request.edgetpu.segments or 1)
        files += [p for path in compiled for p in (path, path.with_suffix(".json"))]
    return files


def convert(
    model: str | Path,
    recipes: list[Recipe],
    *,
    calib: str | None = None,
    eval: str | None = None,  # noqa: A002 - the name users know (--eval)
    calib_samples: int = 200,
    labels: str | Path | None = None,
    scale: float | None = None,
    mean=None,
    std=None,
    output: str | Path | None = None,
    force: bool = False,
    batch: int | None = None,
    input_shape: str | None = None,
    custom_objects: str | Path | None = None,
    trust_model: bool = False,
    options: dict | None = None,
    qat: qat_mod.QatSettings | None = None,
    bound: AccuracyBound | None = None,
    best_effort: bool = False,
    edgetpu: EdgeTpuOptions | None = None,
    layout: str | None = None,
    data_names: dict[str, str] | None = None,
    on_step: Callable[[str], None] | None = None,
) -> ConvertResult:
    """Convert `model` with each recipe, verify each result, write artifacts + manifests.

    model: a Keras model (.keras, .h5, SavedModel folder), a float .tflite, or a PyTorch
    torch.export program (.pt2; a pickled .pt/.pth only with trust_model and input_shape);
    calib/eval: data specs (image folder, .npy, .npz, 'digits'); labels: a text file;
    scale/mean/std: image-folder preprocessing; output: a folder or one .tflite;
    qat: fine-tuning settings for qat-int8; bound: an accuracy bound the int8 recipe must
    meet, keeping its most harmful layers in float if needed (BoundError when no mix meets
    it, unless best_effort: then the best attempt is written and `bound_error()` says so);
    edgetpu: also compile the int8 artifact for the Coral Edge TPU; layout (PyTorch): "nhwc"
    (default) feeds NCHW image inputs channels last, "nchw" keeps the model's layout;
    data_names: what manifests call the `calib` / `eval` data instead of their specs
    ({"calib": "the training split of photos/"}), for data written to temporary files."""
    names = _data_names(data_names)
    data = DataOptions(calib, eval, calib_samples, scale, _floats(mean), _floats(std), read_labels(labels),
                       None if labels is None else f"{LABELS_FILE}{labels}", names.get("calib"), names.get("eval"))
    load = LoadOptions(batch, input_shape, custom_objects, trust_model, layout)
    request = ConvertRequest(Path(model), tuple(recipes), data, load, options, qat, bound, best_effort, edgetpu)
    return run(request, output=None if output is None else Path(output), force=force, on_step=on_step)


def _data_names(names) -> dict[str, str]:
    if names is None:
        return {}
    if not isinstance(names, dict) or not set(names) <= {"calib", "eval"} or not all(
            isinstance(v, str) and v for v in names.values()):
        raise UsageError(f"`data_names` maps 'calib' and/or 'eval' to non-empty names; received {names!r}")
    return dict(names)


def _floats(values) -> tuple[float, ...] | None:
    if values is None:
        return None
    import numpy as np

    return tuple(float(v) for v in np.atleast_1d(values))


def run(request: ConvertRequest, *, output: Path | None = None, force: bool = False,
        on_step: Callable[[str], None] | None = None) -> ConvertResult:
    """Run a validated request: plan and check the outputs, lock them, run the stages.

    Non-chief workers of a multi-worker QAT job take part in training only and write
    nothing, so they take no lock (the chief does)."""
    step = on_step or (lambda message: None)
    paths = output_paths(request.model, request.recipes, output)
    files = planned_files(request, paths)
    check_outputs(files, force, inputs=request.input_paths())
    with output_lock(files if qat_mod.writes_outputs(request.qat) else []):
        return _pipeline(request, paths, force, step)


def _pipeline(request: ConvertRequest, paths: dict, force: bool, step) -> ConvertResult:
    strategy = qat_mod.start_strategy(request.qat.strategy) if request.qat is not None else None  # before TF runs
    source = load_source(request, step)
    if request.qat is not None:
        _check_qat_model(source)
    prepared = prepare_data(source, request, step)
    _check_bound_labels(request, prepared)
    trained = _fine_tune(source, request, strategy, prepared, step) if request.qat is not None else None
    evaluation = prepared.evaluation
    if trained is not None and not trained.is_chief:
        note = (f"worker {trained.training['strategy']['task']} took part in fine-tuning; the chief "
                "worker converts and writes the artifacts")
        return ConvertResult(source_info(source), evaluation.info, evaluation.reference_accuracy,
                             notes=(*source.notes, note))
    with temp_folder("edgekit-savedmodel-") as tmp:
        exported = export_source(source, Path(tmp), step)
        if trained is not None:
            step("exporting the fine-tuned QAT model")
            qat_mod.export_saved_model(trained.model, source.inputs, Path(tmp) / "qat_saved_model")
            exported = replace(exported, qat_folder=Path(tmp) / "qat_saved_model")
        candidates = []
        for recipe in with_float32(request.recipes):  # float32 first
            candidates.append(_candidate(exported, recipe, prepared, request, source, trained, step))
            if exported.float_tflite is None:  # a Keras source: LiteRT Quantizer starts from its float32
                exported = replace(exported, float_tflite=engines.FloatModel.of(candidates[0].content))
    artifacts = write_artifacts(candidates, paths, source, prepared, step)
    unmet = tuple(f"int8: {request.bound.describe()}" for c in candidates
                  if not (c.sections.get("selective") or {"bound_holds": True})["bound_holds"])
    compiled = _compile(artifacts, request.edgetpu, force) if request.edgetpu is not None else None
    notes = (*source.notes, *(c.sections["note"] for c in candidates if c.sections.get("note") and c.recipe in paths))
    return ConvertResult(source_info(source), evaluation.info, evaluation.reference_accuracy, artifacts,
                         tuple(notes), unmet, compiled)


def _candidate(exported: Exported, recipe: Recipe, prepared: Prepared, request: ConvertRequest, source,
               trained, step) -> Candidate:
    candidate = convert_recipe(exported, recipe, prepared, request, source, step)
    if recipe.needs_training:
        candidate = replace(candidate, sections={"training": trained.training})
    if request.bound is not None and recipe.name == "int8":
        candidate = _bounded(candidate, exported, prepared, request, source, step)
    return candidate


def _check_bound_labels(request: ConvertRequest, prepared: Prepared) -> None:
    if request.bound is not None and request.bound.needs_labels and prepared.evaluation.y is None:
        raise BadInputError(
            f"`max_drop` compares accuracy, but the `eval` data {request.data.eval} has no labels; pass "
            "labelled data (an .npz with y, class folders) or use `min_agreement` instead"
        )


def _check_qat_model(source) -> None:
    """A Keras model the bridge can rebuild, with one classifier output (before any data)."""
    from ..quantize import bridge

    if source.keras_model is None:
        raise BadInputError(
            f"QAT needs a Keras model file (.keras or .h5); {source.path.name} is a SavedModel, "
            "which has no layers to fine-tune; convert it with post-training int8 instead"
        )
    bridge.check_bridgeable(source.keras_model)
    qat_mod.check_classifier(source.keras_model)


def _fine_tune(source, request: ConvertRequest, strategy, prepared: Prepared, step):
    step("loading training data")
    classes = qat_mod.check_classifier(source.keras_model)
    train, val = qat_mod.load_training_data(request.qat, source.inputs[0].shape, classes, request.data.prep_args())
    eval_set = prepared.eval_set
    if eval_set is not None and eval_set.class_names and train.class_names and eval_set.class_names != train.class_names:
        raise BadInputError(
            f"training classes {list(train.class_names)} differ from evaluation classes "
            f"{list(eval_set.class_names)}; labels would not line up: use the same class folders"
        )
    return qat_mod.fine_tune(source.keras_model, request.qat, strategy, train, val, step)


def _bounded(plain: Candidate, exported: Exported, prepared: Prepared, request: ConvertRequest, source,
             step) -> Candidate:
    """The int8 candidate that meets the bound (plain or selective), with its record."""
    recipe, bound, evaluation = plain.recipe, request.bound, prepared.evaluation
    names = list(evaluation.input_names)

    def calibrate() -> bytes:
        if plain.engine == engines.QUANTIZER:  # the float model; its ranges are the plain int8's
            return exported.float_tflite.content
        return convert_saved_model(exported.folder, recipe, names, [prepared.calibration.x], source.batch,
                                   request.options, calibrate_only=True).content

    def quantize(model: bytes, float_tensors) -> bytes:  # LiteRT Quantizer: keep-float recipe entries
        return engines.quantize(exported.float_tflite, recipe, plain.ranges, float_tensors).content

    def evaluate(content: bytes):
        return replace_content(plain, content, evaluation).verification

    quantizer = {"quantize": quantize, "graph": engines.op_graph} if plain.engine == engines.QUANTIZER else {}
    outcome = enforce(plain.content, plain.verification, bound=bound, recipe=recipe, calibrate=calibrate,
                      layer_names=keras_layer_names(source.keras_model), samples=evaluation.x[0],
                      evaluate=evaluate, on_step=step, **quantizer)
    if not outcome.holds and not request.best_effort:
        raise BoundError(_bound_message(plain, bound, outcome.record))
    return replace_content(plain, outcome.content, evaluation, selective=outcome.record)


def _bound_message(plain: Candidate, bound: AccuracyBound, record: dict) -> str:
    v = plain.verification
    best = max(record.get("attempts") or [], key=lambda a: (a["accuracy"] or 0, a["top1_agreement"] or 0), default=None)
    reached = "" if best is None else (
        f"; the best mix (float: {', '.join(best['float_layers'])}) reached accuracy "
        f"{fmt_pct(best['accuracy'])}, agreement {fmt_pct(best['top1_agreement'])}")
    return (f"{plain.recipe.name} cannot meet {bound.describe()}: plain int8 accuracy {fmt_pct(v.accuracy)} "
            f"(float {fmt_pct(v.reference_accuracy)}), agreement {fmt_pct(v.top1_agreement)}{reached}; nothing "
            "was written; pass `best_effort` to write the best attempt, or loosen the bound")


def _compile(artifacts: tuple[Artifact, ...], options: EdgeTpuOptions, force: bool):
    """Compile the int8 artifact just written (the pre-flight check goes to options.on_check)."""
    from ..edgetpu import compile_edgetpu

    int8 = next(a for a in artifacts if a.recipe.name in ("int8", "qat-int8") and a.recipe.io != "float32")
    return compile_edgetpu(int8.path, force=force, segments=options.segments,
                           search_delegate=options.search_delegate, on_check=options.on_check)
