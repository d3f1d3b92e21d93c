"""`convert`: a model file -> verified, self-describing .tflite artifacts, one per recipe.

Order of work: check every argument and output path, load the model and data, convert each
recipe in memory, verify it through `edgekit.runtime` against the Keras model, and only then
write the artifacts (temp file + rename; each manifest after its .tflite).
"""

from __future__ import annotations

import functools
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from .._native_log import capture_native_stderr
from .._files import (
    atomic_write_bytes, atomic_write_text, check_writable, output_folder, output_lock, sha256_file,
)
from ..data import Dataset, load_data, split_holdout
from ..errors import BadInputError, BoundError, EdgekitError, UsageError
from ..metrics import compare_outputs
from ..models import SourceModel, load_model
from ..quantize import qat as qat_mod
from ..quantize.recipes import Recipe
from ..runtime import MANIFEST_METADATA_NAME, Model, embed_metadata
from ..runtime.preprocess import DEFAULT_MEAN, DEFAULT_SCALE, DEFAULT_STD
from . import manifest as manifest_mod
from .layers import keras_layer_names
from .selective import AccuracyBound, enforce
from .tflite import Converted, convert_saved_model

SYNTHETIC_SAMPLES = 64
MAX_EVAL_SAMPLES = 1000


@dataclass(frozen=True)
class Artifact:
    recipe: Recipe
    path: Path
    manifest_path: Path
    manifest: dict

    @property
    def verification(self) -> dict:
        return self.manifest["verification"]

    def summary(self) -> dict:
        size = self.manifest["size"]
        v = self.verification
        return {
            "recipe": self.recipe.name,
            "io": self.recipe.io,
            "path": str(self.path),
            "manifest": str(self.manifest_path),
            "bytes": size["bytes"],
            "ratio_vs_float32": size["ratio_vs_float32"],
            "top1_agreement": v["top1_agreement"],
            "accuracy": v["accuracy"],
            "accuracy_delta": v["accuracy_delta"],
            "max_abs_error": v["max_abs_error"],
            "snr_db": v["snr_db"],
            "conversion_seconds": self.manifest["conversion_seconds"],
        }


@dataclass(frozen=True)
class ConvertResult:
    source: dict
    evaluation: dict
    reference_accuracy: float | None
    artifacts: tuple[Artifact, ...] = field(default_factory=tuple)
    notes: tuple[str, ...] = ()
    unmet_bounds: tuple[str, ...] = ()  # --best-effort artifacts written below their bound

    def to_dict(self) -> dict:
        return manifest_mod.jsonable({
            "source": self.source,
            "evaluation": self.evaluation,
            "reference_accuracy": self.reference_accuracy,
            "artifacts": [a.summary() for a in self.artifacts],
            "notes": list(self.notes),
            "unmet_bounds": list(self.unmet_bounds),
        })


def output_paths(model_path: Path, recipes: list[Recipe], output: Path | None) -> list[Path]:
    """Where each recipe's .tflite goes: NAME_RECIPE.tflite beside the model, in -o DIR, or -o FILE."""
    stem = model_path.name if model_path.is_dir() else model_path.stem
    folder = output_folder(output, model_path.parent, len(recipes), f"{len(recipes)} recipes")
    if folder is None:
        return [output]
    return [folder / f"{stem}_{r.name}.tflite" for r in recipes]


def read_labels(path: Path | None) -> list[str] | None:
    if path is None:
        return None
    if not path.is_file():
        raise BadInputError(f"labels file not found: {path}; pass a text file with one label per line")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        raise BadInputError(f"labels file {path} is not UTF-8 text; one label per line") from None
    labels = [line.strip() for line in lines if line.strip()]
    if not labels:
        raise BadInputError(f"labels file {path} is empty; one label per line")
    return labels


def _check_labels(labels, reference_outputs, where: str):
    size = int(np.prod(reference_outputs[0].shape[1:]))
    if labels is not None and len(labels) != size:
        raise BadInputError(
            f"{where} has {len(labels)} labels but the model's output has {size} values; "
            "give one label per output class"
        )


def _verify(recipe: Recipe, content: bytes, names: list[str], eval_x: list[np.ndarray],
            reference: list[np.ndarray], labels_y):
    """Run the .tflite through edgekit.runtime on the evaluation inputs and compare.

    Several inputs go in by name: a .tflite orders its signature inputs by name, which need
    not be the Keras order."""
    try:
        model = Model.from_bytes(content)
        out = model.predict(dict(zip(names, eval_x)) if len(eval_x) > 1 else eval_x[0])
    except EdgekitError as exc:
        raise BadInputError(
            f"{recipe.name}: the converted model does not run in the interpreter ({exc.message}); "
            "try another recipe for this model"
        ) from None
    inputs = [s.to_dict() for s in model.inputs]
    outputs = [s.to_dict() for s in model.outputs]
    outs = list(out.values()) if isinstance(out, dict) else [out]
    metrics = compare_outputs(reference[0], outs[0], labels_y)
    if len(outs) > 1:
        metrics["per_output"] = [compare_outputs(r, o) for r, o in zip(reference, outs)]
    return metrics, inputs, outputs


def _pick_data(source: SourceModel, recipes, calib, eval_spec, calib_samples, prep_args):
    """Calibration set (if needed/given) and evaluation set (--eval, held-out, or synthetic)."""
    needs_calib = any(r.needs_calibration for r in recipes)
    if needs_calib and calib is None:
        names = ", ".join(r.name for r in recipes if r.needs_calibration)
        raise UsageError(
            f"{names} needs calibration data: pass --calib with a folder of images, a .npy or "
            ".npz file, or a built-in dataset name such as 'digits' (edgekit never calibrates "
            "on random data)"
        )
    if calib_samples <= 0:
        raise UsageError(f"--calib-samples must be positive; received {calib_samples}")
    if (calib is not None or eval_spec is not None) and len(source.inputs) > 1:
        raise BadInputError(
            f"{source.path.name} has {len(source.inputs)} inputs; calibration and evaluation "
            "data are supported for single-input models only"
        )
    shape = source.inputs[0].shape
    calib_set = holdout = None
    if calib is not None:
        full = load_data(calib, shape, role="calibration", **prep_args)
        calib_set, holdout = split_holdout(full, calib_samples, seed=0, max_holdout=MAX_EVAL_SAMPLES)
    if eval_spec is not None:
        eval_set = load_data(eval_spec, shape, role="evaluation", max_samples=MAX_EVAL_SAMPLES, **prep_args)
        kind = "eval"
    elif holdout is not None and len(holdout):
        eval_set, kind = holdout, "held-out calibration data"
    else:
        eval_set, kind = None, "synthetic"
    return calib_set, eval_set, kind


def _check_data_pair(calib_set, eval_set, explicit_preprocessing: bool) -> None:
    """Image preprocessing flags need image data; class folders must agree between sets."""
    sets = [ds for ds in (calib_set, eval_set) if ds is not None]
    if explicit_preprocessing and not any(ds.kind == "images" for ds in sets):
        raise UsageError(
            "--scale/--mean/--std apply to image folders only; .npy/.npz files and built-in "
            "sets are already model-ready, so leave these flags out"
        )
    if (calib_set is not None and eval_set is not None and calib_set.class_names
            and eval_set.class_names and calib_set.class_names != eval_set.class_names):
        raise BadInputError(
            f"calibration classes {list(calib_set.class_names)} differ from evaluation classes "
            f"{list(eval_set.class_names)}; labels would not line up: use the same class folders"
        )


def _synthetic_inputs(source: SourceModel) -> list[np.ndarray]:
    """Fixed-seed uniform [0, 1) inputs: enough to check numerics, never used to calibrate."""
    rng = np.random.default_rng(0)
    return [rng.random((SYNTHETIC_SAMPLES, *s.shape[1:]), dtype=np.float32) for s in source.inputs]


def _convert(
    model: str | Path,
    recipes: list[Recipe],
    *,
    calib: str | None = None,
    eval: str | None = None,  # noqa: A002 - mirrors the CLI flag
    calib_samples: int = 200,
    output: str | Path | None = None,
    force: bool = False,
    labels: str | Path | None = None,
    batch: int | None = None,
    input_shape: str | None = None,
    custom_objects: str | Path | None = None,
    trust_model: bool = False,
    scale: float | None = None,
    mean=None,
    std=None,
    options: dict | None = None,
    qat: qat_mod.QatSettings | None = None,
    bound: AccuracyBound | None = None,
    best_effort: bool = False,
    on_step: Callable[[str], None] | None = None,
) -> ConvertResult:
    """Convert `model` with each recipe, verify each result, write artifacts + manifests.

    qat: fine-tuning settings for the qat-int8 recipe. bound: an accuracy bound the int8
    recipe must meet, keeping its most harmful layers in float if needed (BoundError when no
    mix meets it, unless best_effort: then the best attempt is written and named in
    `unmet_bounds`)."""
    step = on_step or (lambda message: None)
    model_path = Path(model)
    if not recipes:
        raise UsageError("no recipe chosen; pass --int8, --float16, ... or --all")
    _check_quantize_options(recipes, qat, bound, eval, best_effort)
    tflite_paths = output_paths(model_path, recipes, Path(output) if output else None)
    manifest_paths = [p.with_suffix(".json") for p in tflite_paths]
    check_writable(tflite_paths + manifest_paths, force)
    label_list = read_labels(Path(labels) if labels else None)
    strategy = qat_mod.start_strategy(qat.strategy) if qat is not None else None  # before TF runs

    step(f"loading {model_path.name}")
    source = load_model(model_path, batch=batch, input_shape=input_shape,
                        custom_objects=custom_objects, trust=trust_model)
    prep_args = {"scale": DEFAULT_SCALE if scale is None else scale,
                 "mean": DEFAULT_MEAN if mean is None else mean,
                 "std": DEFAULT_STD if std is None else std}
    if qat is not None:
        _check_qat_model(source)
    step("loading data")
    calib_set, eval_set, eval_kind = _pick_data(source, recipes, calib, eval, calib_samples, prep_args)
    _check_data_pair(calib_set, eval_set, explicit_preprocessing=(scale, mean, std) != (None, None, None))
    eval_x = [eval_set.x] if eval_set is not None else _synthetic_inputs(source)
    eval_y = eval_set.y if eval_set is not None else None
    reference = source.predict(eval_x)
    labels_from = "--labels"
    if label_list is None:
        for ds in (calib_set, eval_set):
            names = getattr(ds, "class_names", None)
            if names and len(names) == int(np.prod(reference[0].shape[1:])):
                label_list, labels_from = list(names), f"class names of {ds.source}"
                break
    _check_labels(label_list, reference, labels_from)
    ref_metrics = compare_outputs(reference[0], reference[0], eval_y)
    evaluation = _evaluation_summary(eval_set, eval_kind, len(eval_x[0]))
    if bound is not None and bound.needs_labels and eval_y is None:
        raise BadInputError(
            f"--max-drop compares accuracy, but the --eval data {eval} has no labels; pass "
            "labelled data (an .npz with y, class folders) or use --min-agreement instead"
        )
    trained = None
    if qat is not None:
        trained = _fine_tune(source, qat, strategy, prep_args, eval_set, step)
        if not trained.is_chief:
            task = trained.training["strategy"]["task"]
            return ConvertResult(source.describe(), evaluation, ref_metrics["accuracy"], (),
                                 (*source.notes, f"worker {task} took part in fine-tuning; the "
                                  "chief worker converts and writes the artifacts"))

    results: list[tuple[Converted, dict, list, list, dict]] = []
    unmet: list[str] = []
    with tempfile.TemporaryDirectory(prefix="edgekit-savedmodel-") as tmp:
        step("exporting a static-shape SavedModel")
        source.export_saved_model(Path(tmp) / "saved_model")
        if trained is not None:
            step("exporting the fine-tuned QAT model")
            qat_mod.export_saved_model(trained.model, source.inputs, Path(tmp) / "qat_saved_model")
        calibration = [calib_set.x] if calib_set is not None else None
        names = [s.name for s in source.inputs]

        def check(recipe, content):
            with capture_native_stderr():  # the interpreter's one-time INFO line
                return _verify(recipe, content, names, eval_x, reference, eval_y)

        todo = recipes if any(r.name == "float32" for r in recipes) else [Recipe("float32"), *recipes]
        for recipe in todo:
            step(f"converting: {recipe.name}")
            folder = Path(tmp) / ("qat_saved_model" if recipe.needs_training else "saved_model")
            converted = convert_saved_model(folder, recipe, names, calibration, source.batch, options)
            step(f"verifying: {recipe.name}")
            metrics, ins, outs = check(recipe, converted.content)
            extra = {"training": trained.training} if recipe.needs_training else {}
            if bound is not None and recipe.name == "int8":
                def calibrate(recipe=recipe):
                    return convert_saved_model(folder, recipe, names, calibration, source.batch,
                                               options, calibrate_only=True).content
                converted, metrics, ins, outs, extra["selective"] = _bounded(
                    bound, best_effort, (converted, metrics, ins, outs), check, calibrate,
                    keras_layer_names(source.keras_model), eval_x[0], step)
                if not extra["selective"]["bound_holds"]:
                    unmet.append(f"{recipe.name}: {bound.describe()}")
            results.append((converted, metrics, ins, outs, extra))
    float_bytes = len(next(c.content for c, *_ in results if c.recipe.name == "float32"))
    preprocessing = next((ds.preprocessing for ds in (calib_set, eval_set) if ds is not None and ds.preprocessing), None)

    artifacts = []
    for path, manifest_path, recipe in zip(tflite_paths, manifest_paths, recipes):
        converted, metrics, ins, outs, extra = next(r for r in results if r[0].recipe == recipe)
        metrics["data"] = evaluation
        ref_acc = ref_metrics["accuracy"]
        metrics["accuracy_delta"] = (
            metrics["accuracy"] - ref_acc if metrics["accuracy"] is not None and ref_acc is not None else None
        )
        manifest = manifest_mod.build_manifest(
            source=source.describe(),
            recipe=recipe.to_dict(),
            inputs=ins,
            outputs=outs,
            preprocessing=preprocessing,
            labels=label_list,
            calibration=calib_set.to_summary() if calib_set is not None and recipe.needs_calibration else None,
            size={
                "bytes": len(converted.content),
                "float32_bytes": float_bytes,
                "ratio_vs_float32": round(len(converted.content) / float_bytes, 4),
            },
            conversion_seconds=converted.seconds,
            verification=metrics,
            **extra,
        )
        step(f"writing {path.name}")
        payload = manifest_mod.dumps(manifest).encode()
        atomic_write_bytes(path, embed_metadata(converted.content, MANIFEST_METADATA_NAME, payload))
        sidecar = dict(manifest, artifact={"file": path.name, "sha256": sha256_file(path), "bytes": path.stat().st_size})
        atomic_write_text(manifest_path, manifest_mod.dumps(sidecar))
        artifacts.append(Artifact(recipe, path, manifest_path, sidecar))
    return ConvertResult(source.describe(), evaluation, ref_metrics["accuracy"], tuple(artifacts),
                         tuple(source.notes), tuple(unmet))


@functools.wraps(_convert)
def convert(model: str | Path, recipes: list[Recipe], **options) -> ConvertResult:
    # Holds a lock on every output path for the whole run: a second edgekit process writing
    # the same files fails at once (BadInputError) instead of racing this one.
    # Non-chief workers of a multi-worker QAT job take part in training only and write
    # nothing, so they take no lock (the chief does).
    output = options.get("output")
    paths = output_paths(Path(model), recipes, Path(output) if output else None) if recipes else []
    if not qat_mod.writes_outputs(options.get("qat")):
        paths = []
    with output_lock(paths + [p.with_suffix(".json") for p in paths]):
        return _convert(model, recipes, **options)


def _check_quantize_options(recipes, qat, bound, eval_spec, best_effort) -> None:
    """QAT settings go with qat-int8 only; a bound needs int8 and --eval data."""
    wants_qat = any(r.needs_training for r in recipes)
    if wants_qat and qat is None:
        raise UsageError(
            "qat-int8 needs fine-tuning data: pass --train-data (an image folder with one "
            "subfolder per class, an .npz with x and y, or 'digits')"
        )
    if qat is not None and not wants_qat:
        raise UsageError("fine-tuning options (--train-data, --epochs, ...) apply to --qat only; add --qat")
    if bound is None:
        if best_effort:
            raise UsageError("--best-effort applies with --max-drop or --min-agreement; add one")
        return
    if not any(r.name == "int8" for r in recipes):
        raise UsageError(
            "--max-drop/--min-agreement bound the int8 recipe (keeping layers in float); add --int8"
        )
    if eval_spec is None:
        raise UsageError(
            "--max-drop/--min-agreement need --eval data to measure the int8 model on (with "
            "labels for --max-drop)"
        )


def _check_qat_model(source: SourceModel) -> None:
    """A Keras model the bridge can rebuild, with one classifier output (before any data)."""
    from ..quantize import bridge

    if source.keras_model is None:
        raise BadInputError(
            f"QAT needs a Keras model file (.keras or .h5); {source.path.name} is a SavedModel, "
            "which has no layers to fine-tune; convert it with post-training --int8 instead"
        )
    bridge.check_bridgeable(source.keras_model)
    qat_mod.check_classifier(source.keras_model)


def _fine_tune(source, qat, strategy, prep_args, eval_set, step):
    step("loading training data")
    classes = qat_mod.check_classifier(source.keras_model)
    train, val = qat_mod.load_training_data(qat, source.inputs[0].shape, classes, prep_args)
    if eval_set is not None and eval_set.class_names and train.class_names \
            and eval_set.class_names != train.class_names:
        raise BadInputError(
            f"--train-data classes {list(train.class_names)} differ from --eval classes "
            f"{list(eval_set.class_names)}; labels would not line up: use the same class folders"
        )
    return qat_mod.fine_tune(source.keras_model, qat, strategy, train, val, step)


def _bounded(bound, best_effort, plain, check, calibrate, layer_names, samples, step):
    """The int8 result that meets `bound` (plain or selective) and its manifest record."""
    converted, metrics, ins, outs = plain
    recipe = converted.recipe
    outcome = enforce(converted.content, metrics, bound=bound, recipe=recipe, calibrate=calibrate,
                      layer_names=layer_names, samples=samples,
                      evaluate=lambda content: check(recipe, content)[0], on_step=step)
    record = outcome.record
    if not outcome.holds and not best_effort:
        tried = record.get("attempts") or []
        best = max(tried, key=lambda a: (a["accuracy"] or 0, a["top1_agreement"] or 0), default=None)
        reached = "" if best is None else (
            f"; the best mix (float: {', '.join(best['float_layers'])}) reached accuracy "
            f"{_pct(best['accuracy'])}, agreement {_pct(best['top1_agreement'])}")
        raise BoundError(
            f"{recipe.name} cannot meet {bound.describe()}: plain int8 accuracy "
            f"{_pct(metrics['accuracy'])} (float {_pct(metrics['reference_accuracy'])}), "
            f"agreement {_pct(metrics['top1_agreement'])}{reached}; nothing was written; pass "
            "--best-effort to write the best attempt, or loosen the bound"
        )
    if outcome.content is converted.content:
        return converted, metrics, ins, outs, record
    metrics, ins, outs = check(recipe, outcome.content)
    return Converted(recipe, outcome.content, converted.seconds), metrics, ins, outs, record


def _pct(value) -> str:
    return "-" if value is None else f"{100 * value:.2f}%"


def _evaluation_summary(eval_set: Dataset | None, kind: str, n: int) -> dict:
    if eval_set is None:
        return {
            "kind": "synthetic",
            "samples": n,
            "note": "no --eval or --calib data: numerics checked on fixed-seed uniform inputs; "
            "accuracy not measured",
        }
    return {"kind": kind, "samples": n, **{k: v for k, v in eval_set.to_summary().items() if k in ("source", "has_labels")}}
