"""The convert pipeline as a row of small stages, each with a typed input and output:

    load_source      ConvertRequest          -> SourceModel (Keras, float .tflite or PyTorch)
    prepare_data     SourceModel + request   -> Prepared (calibration set, Evaluation, labels)
    export_source    SourceModel             -> Exported (a static SavedModel on disk for the
                                                TFLite converter, or float .tflite bytes for
                                                LiteRT Quantizer)
    convert_recipe   Exported + Prepared     -> Candidate (bytes + Verification), by the
                                                engine `engines.engine_for` picks
    build_manifest   Candidate + ...         -> Manifest
    write_artifacts  Candidates + OutputPlan -> Artifacts on disk (atomically, manifest last)

`convert`, `debug`, QAT and selective int8 compose them (and `optimize`, `train --export`).
Evaluation data and the float reference are computed once, in `prepare_data`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from .._native_log import capture_native_stderr
from ..artifact import (
    EvaluationInfo, Manifest, Preprocessing, RecipeRecord, SizeInfo, SourceInfo, TensorSpec, Verification,
    package_versions, write_artifact,
)
from ..artifact.manifest import now
from ..data import Dataset, load_data, split_holdout
from ..errors import BadInputError, EdgekitError, UsageError
from ..metrics import compare_outputs, is_classifier_output, top_k_accuracy
from ..models import FloatTfliteSource, SourceModel, load_source_model
from ..quantize.recipes import Recipe
from ..runtime import Model
from ..train.record import use_training_record
from . import engines
from .request import ConvertRequest
from .tflite import convert_saved_model

SYNTHETIC_SAMPLES = 64
SPLIT_BUILTINS = ("digits",)  # built-in sets with a standard train/test split
MAX_EVAL_SAMPLES = 1000


@dataclass(frozen=True)
class Evaluation:
    """What every artifact is verified against: inputs, labels and the float model's outputs."""

    x: tuple[np.ndarray, ...]  # one array per model input
    y: np.ndarray | None
    reference: tuple[np.ndarray, ...]  # the float source model's outputs
    info: EvaluationInfo
    input_names: tuple[str, ...]

    @property
    def reference_accuracy(self) -> float | None:
        ref = self.reference[0]
        if self.y is None or not is_classifier_output(ref):
            return None
        return top_k_accuracy(ref, self.y, 1)


@dataclass(frozen=True)
class Prepared:
    calibration: Dataset | None
    evaluation: Evaluation
    labels: tuple[str, ...] | None
    preprocessing: Preprocessing | None
    eval_set: Dataset | None = None


@dataclass(frozen=True)
class Exported:
    """The source model as the engines read it: SavedModels for the TFLite converter (the
    source and a fine-tuned QAT model), and the float .tflite for LiteRT Quantizer (a .tflite
    or PyTorch source's own; a Keras source's float32 artifact, once converted)."""

    folder: Path | None = None
    qat_folder: Path | None = None
    float_tflite: engines.FloatModel | None = None

    def for_recipe(self, recipe: Recipe) -> Path:
        return self.qat_folder if recipe.needs_training and self.qat_folder else self.folder


@dataclass(frozen=True)
class Candidate:
    """One recipe's converted model, verified, not yet written."""

    recipe: Recipe
    content: bytes = field(repr=False)
    seconds: float
    verification: Verification
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    sections: dict = field(default_factory=dict)  # manifest sections: training, selective, note
    engine: str = engines.CONVERTER  # what made `content`, as the manifest records it
    ranges: dict | None = field(default=None, repr=False, compare=False)  # LiteRT Quantizer's calibration


# ---------------------------------------------------------------------------------------
# load and prepare


def load_source(request: ConvertRequest, step) -> SourceModel:
    step(f"loading {request.model.name}" + (" (converting it with litert-torch)" if request.source_format in
                                              ("pt2", "pickle") else ""))
    opts = request.load
    return load_source_model(request.model, batch=opts.batch, input_shape=opts.input_shape,
                             custom_objects=opts.custom_objects, trust=opts.trust_model, layout=opts.layout)


def pick_data(source: SourceModel, request: ConvertRequest) -> tuple[Dataset | None, Dataset | None, str]:
    """Calibration set (if given) and evaluation set (`eval`, held-out calibration data, or
    None: synthetic inputs), and the kind of evaluation."""
    data = request.data
    if (data.calib is not None or data.eval is not None) and len(source.inputs) > 1:
        raise BadInputError(
            f"{source.path.name} has {len(source.inputs)} inputs; calibration and evaluation "
            "data are supported for single-input models only"
        )
    shape, prep = source.inputs[0].shape, data.prep_args()
    if data.calib in SPLIT_BUILTINS and data.eval is None:
        # calibrate on the set's training split, verify on its test split: never on images a
        # model trained on the same built-in split has seen
        return (load_data(f"{data.calib}-train", shape, role="calibration", **prep),
                load_data(f"{data.calib}-test", shape, role="evaluation", max_samples=MAX_EVAL_SAMPLES, **prep),
                f"the test split of the built-in {data.calib} set")
    calib_set = holdout = None
    if data.calib is not None:
        full = load_data(data.calib, shape, role="calibration", name=data.calib_name, **prep)
        calib_set, holdout = split_holdout(full, data.calib_samples, seed=0, max_holdout=MAX_EVAL_SAMPLES)
    if data.eval is not None:
        evaluation = load_data(data.eval, shape, role="evaluation", max_samples=MAX_EVAL_SAMPLES, name=data.eval_name,
                               **prep)
        return calib_set, evaluation, "eval"
    if holdout is not None and len(holdout):
        return calib_set, holdout, "held-out calibration data"
    return calib_set, None, "synthetic"


def check_data_pair(calib_set, eval_set, explicit_preprocessing: bool) -> None:
    """Image preprocessing options need image data; class folders must agree between sets."""
    sets = [ds for ds in (calib_set, eval_set) if ds is not None]
    if explicit_preprocessing and not any(ds.kind == "images" for ds in sets):
        raise UsageError(
            "`scale`/`mean`/`std` apply to image folders only; .npy/.npz files and built-in "
            "sets are already model-ready, so leave them out"
        )
    if (calib_set is not None and eval_set is not None and calib_set.class_names
            and eval_set.class_names and calib_set.class_names != eval_set.class_names):
        raise BadInputError(
            f"calibration classes {list(calib_set.class_names)} differ from evaluation classes "
            f"{list(eval_set.class_names)}; labels would not line up: use the same class folders"
        )


def synthetic_inputs(source: SourceModel) -> tuple[np.ndarray, ...]:
    """Fixed-seed uniform [0, 1) inputs: enough to check numerics, never used to calibrate."""
    rng = np.random.default_rng(0)
    return tuple(rng.random((SYNTHETIC_SAMPLES, *s.shape[1:]), dtype=np.float32) for s in source.inputs)


def evaluation_info(eval_set: Dataset | None, kind: str, n: int) -> EvaluationInfo:
    if eval_set is None:
        return EvaluationInfo(kind="synthetic", samples=n, note=(
            "no evaluation or calibration data: numerics checked on fixed-seed uniform inputs; "
            "accuracy not measured"))
    return EvaluationInfo(kind=kind, samples=n, source=eval_set.source, has_labels=eval_set.y is not None)


def check_finite(outputs, source: SourceModel, what: str) -> None:
    """The float model's outputs must be finite: nothing can be calibrated or verified against NaN."""
    n = len(outputs[0])
    bad = np.zeros(n, dtype=bool)
    for out in outputs:
        if np.issubdtype(np.asarray(out).dtype, np.floating):
            bad |= ~np.isfinite(np.asarray(out).reshape(n, -1)).all(axis=1)
    if bad.any():
        raise BadInputError(
            f"{source.path.name}: the float model's outputs are NaN or infinite on {int(bad.sum())} of {n} {what} "
            f"samples (first: sample {int(np.argmax(bad))}); nothing can be calibrated or verified against them: "
            "check the data and its preprocessing (`scale`, `mean`, `std`) or the model"
        )


def reference_on(source: SourceModel, eval_set: Dataset | None, kind: str) -> Evaluation:
    """The float source model's outputs on the evaluation inputs (computed once)."""
    x = (eval_set.x,) if eval_set is not None else synthetic_inputs(source)
    reference = tuple(source.predict(list(x)))
    check_finite(reference, source, kind if eval_set is not None else "synthetic (uniform [0, 1))")
    return Evaluation(x, None if eval_set is None else eval_set.y, reference,
                      evaluation_info(eval_set, kind, len(x[0])), tuple(s.name for s in source.inputs))


def choose_labels(data, calib_set, eval_set, evaluation: Evaluation) -> tuple[str, ...] | None:
    """Labels from `labels`, else class-folder names whose count matches the output."""
    size = int(np.prod(evaluation.reference[0].shape[1:]))
    labels, where = data.labels, data.labels_from or "`labels`"
    if labels is None:
        for ds in (calib_set, eval_set):
            names = getattr(ds, "class_names", None)
            if names and len(names) == size:
                labels, where = tuple(names), f"class names of {ds.source}"
                break
    if labels is not None and len(labels) != size:
        raise BadInputError(
            f"{where} has {len(labels)} labels but the model's output has {size} values; give one "
            "label per output class"
        )
    return labels


def prepare_data(source: SourceModel, request: ConvertRequest, step) -> Prepared:
    """Calibration set, evaluation set with the float reference on it, labels, preprocessing."""
    step("loading data")
    given = request.data
    request, recorded = use_training_record(source, request)  # edgekit train's labels/preprocessing
    calib_set, eval_set, kind = pick_data(source, request)
    check_data_pair(calib_set, eval_set, given.explicit_preprocessing)
    if calib_set is not None:
        step(f"checking the float model on {len(calib_set)} calibration samples")
        check_finite(source.predict([calib_set.x]), source, "calibration")
    step(f"float reference outputs on {len(eval_set) if eval_set is not None else SYNTHETIC_SAMPLES} samples")
    evaluation = reference_on(source, eval_set, kind)
    labels = choose_labels(request.data, calib_set, eval_set, evaluation)
    preprocessing = next((ds.preprocessing for ds in (calib_set, eval_set) if ds is not None and ds.preprocessing), recorded)
    return Prepared(calib_set, evaluation, labels, preprocessing, eval_set)


# ---------------------------------------------------------------------------------------
# convert and verify


def export_source(source: SourceModel, folder: Path, step) -> Exported:
    """A Keras source as a static-shape SavedModel; a float .tflite/PyTorch source as its bytes."""
    if isinstance(source, FloatTfliteSource):
        return Exported(float_tflite=engines.FloatModel.of(source.content))
    step("exporting a static-shape SavedModel")
    source.export_saved_model(folder / "saved_model")
    return Exported(folder / "saved_model")


def verify(recipe: Recipe, content: bytes, evaluation: Evaluation) -> tuple[Verification, tuple, tuple]:
    """(verification, input specs, output specs) of `content` run through edgekit.runtime on
    the evaluation inputs. Several inputs go in by name: a .tflite orders its signature
    inputs by name, which need not be the Keras order."""
    try:
        with capture_native_stderr():  # the interpreter's one-time INFO line
            model = Model.from_bytes(content)
            x = evaluation.x
            out = model.predict(dict(zip(evaluation.input_names, x)) if len(x) > 1 else x[0])
    except EdgekitError as exc:
        raise BadInputError(
            f"{recipe.name}: the converted model does not run in the interpreter ({exc.message}); nothing was "
            "written; try another recipe for this model"
        ) from exc
    outs = list(out.values()) if isinstance(out, dict) else [out]
    ref = evaluation.reference
    per_output = tuple(compare_outputs(r, o) for r, o in zip(ref, outs)) if len(outs) > 1 else ()
    main = compare_outputs(ref[0], outs[0], evaluation.y)
    return Verification.from_comparison(main, evaluation.info, per_output), model.inputs, model.outputs


def convert_recipe(exported: Exported, recipe: Recipe, prepared: Prepared, request: ConvertRequest,
                   source: SourceModel, step) -> Candidate:
    """Make one recipe with the engine `engines.engine_for` picks and verify the result."""
    engine = engines.engine_for(recipe, source)
    step(f"converting: {recipe.name}" + ("" if engine == engines.CONVERTER else f" ({engine})"))
    ranges, note = None, None
    if engine == engines.QUANTIZER:
        if exported.float_tflite is None:
            raise EdgekitError(f"{recipe.name}: no float .tflite to quantize (convert float32 first)")
        calibration = prepared.calibration.x if prepared.calibration is not None else None
        started = time.perf_counter()
        ranges = engines.calibrate(exported.float_tflite, recipe, calibration, source.batch)
        calibrated_s = time.perf_counter() - started
        quantized = engines.quantize(exported.float_tflite, recipe, ranges)
        content, seconds, note = quantized.content, calibrated_s + quantized.seconds, quantized.note
    elif engine == engines.CONVERTER:
        calibration = [prepared.calibration.x] if prepared.calibration is not None else None
        converted = convert_saved_model(exported.for_recipe(recipe), recipe, list(prepared.evaluation.input_names),
                                        calibration, source.batch, request.options)
        content, seconds = converted.content, converted.seconds
    else:  # float32 of a float .tflite or PyTorch source: the float model itself
        content, seconds = exported.float_tflite.content, getattr(source, "convert_s", 0.0)
    step(f"verifying: {recipe.name}")
    verification, ins, outs = verify(recipe, content, prepared.evaluation)
    return Candidate(recipe, content, seconds, verification, ins, outs, {"note": note} if note else {}, engine,
                     ranges)


def with_float32(recipes) -> list[Recipe]:
    """The recipes to convert, float32 first: the size baseline, and the float .tflite that
    LiteRT Quantizer starts from for a Keras source (added if not asked for)."""
    recipes = list(recipes)
    float32 = [r for r in recipes if r.name == "float32"] or [Recipe("float32")]
    return float32 + [r for r in recipes if r.name != "float32"]


# ---------------------------------------------------------------------------------------
# manifests and files


def source_info(source: SourceModel) -> SourceInfo:
    d = source.describe()
    return SourceInfo(file=d["file"], sha256=d["sha256"], format=d["format"], kind=d["kind"],
                      inputs=tuple(source.inputs))


def build_manifest(candidate: Candidate, source: SourceModel, prepared: Prepared, float32_bytes: int) -> Manifest:
    recipe, size = candidate.recipe, len(candidate.content)
    calibration = prepared.calibration
    return Manifest(
        created=now(), versions=package_versions(), source=source_info(source),
        recipe=RecipeRecord(recipe.name, recipe.io, recipe.weights, recipe.activations, candidate.engine),
        inputs=candidate.inputs, outputs=candidate.outputs, preprocessing=prepared.preprocessing,
        labels=prepared.labels,
        calibration=calibration.to_summary() if calibration is not None and recipe.needs_calibration else None,
        size=SizeInfo(size, float32_bytes, round(size / float32_bytes, 4)),
        conversion_s=round(candidate.seconds, 3), verification=candidate.verification,
        training=candidate.sections.get("training"), selective=candidate.sections.get("selective"),
        note=candidate.sections.get("note"),
    )


@dataclass(frozen=True)
class Artifact:
    """A written artifact: the .tflite, its sidecar manifest and the manifest itself."""

    recipe: Recipe
    path: Path
    manifest_path: Path
    manifest: Manifest

    @property
    def verification(self) -> Verification:
        return self.manifest.verification


def write_artifacts(candidates: list[Candidate], paths: dict, source: SourceModel, prepared: Prepared,
                    step) -> tuple[Artifact, ...]:
    """Each asked-for recipe's .tflite (manifest embedded) and then its sidecar, atomically."""
    float32_bytes = len(next(c.content for c in candidates if c.recipe.name == "float32"))
    artifacts = []
    for candidate in candidates:
        path = paths.get(candidate.recipe)
        if path is None:
            continue  # float32 converted only as the size baseline
        manifest = build_manifest(candidate, source, prepared, float32_bytes)
        step(f"writing {path.name}")
        sidecar = write_artifact(path, candidate.content, manifest)
        artifacts.append(Artifact(candidate.recipe, path, path.with_suffix(".json"), sidecar))
    return tuple(artifacts)


def replace_content(candidate: Candidate, content: bytes, evaluation: Evaluation, **sections) -> Candidate:
    """The candidate with other model bytes (a selective mix), verified again."""
    if content is candidate.content:
        return replace(candidate, sections={**candidate.sections, **sections})
    verification, ins, outs = verify(candidate.recipe, content, evaluation)
    return replace(candidate, content=content, verification=verification, inputs=ins, outputs=outs,
                   sections={**candidate.sections, **sections})
