"""Writing what `train` made: NAME.keras, NAME.train.json (the record) and NAME.train.html.

All three are written to temp files in the destination folder first and renamed into place
together at the end (the model first, the record that describes it next, then the page):
a failure or Ctrl-C while writing leaves nothing at a final path. The space they need is
checked before training starts, so a full disk is said at once, not after the last epoch.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from dataclasses import replace
from pathlib import Path

from .. import _signals
from .._files import atomic_write_text, sha256_file
from ..artifact import dumps
from ..errors import BadInputError
from . import stream
from .record import ModelFile, TrainResult, record_path, report_path

RECORD_OVERHEAD = 256 * 1024
BYTES_PER_PARAM = {"float32": 4, "float16": 2}


def planned_files(model_path: Path, recipes, edgetpu: bool) -> list[Path]:
    """Every file a run may write: model, record, report, and the exported artifacts."""
    files = [model_path, record_path(model_path), report_path(model_path)]
    if recipes:
        from ..convert.pipeline import output_paths

        artifacts = output_paths(model_path, list(recipes), None)
        files += [p for path in artifacts.values() for p in (path, path.with_suffix(".json"))]
        if edgetpu:
            from ..edgetpu.compiler import output_paths as compiled_paths

            int8 = next(p for r, p in artifacts.items() if r.name in ("int8", "qat-int8") and r.io != "float32")
            files += [p for path in compiled_paths(int8, None, 1) for p in (path, path.with_suffix(".json"))]
    return files


def check_room(model_path: Path, params: int, samples: int, recipes) -> None:
    """Refuse, before training, an output folder without room for what will be written."""
    need = params * 4 + 2 * RECORD_OVERHEAD + samples * 96
    need += sum(params * BYTES_PER_PARAM.get(r.name, 1) + RECORD_OVERHEAD for r in recipes)
    stream.check_space(model_path.parent, need, f"the trained model {model_path.name} and what goes with it")


def write_outputs(model, result: TrainResult, model_path: Path, render_page) -> TrainResult:
    """Save the model, then its record and report (all renamed into place at the end)."""
    folder = model_path.parent
    temps: list[Path] = []
    try:
        model_tmp = _temp(folder, model_path.name, ".keras", temps)
        _saving(lambda: model.save(model_tmp), model_path)
        result = replace(result, model=ModelFile(str(model_path), sha256_file(model_tmp), model_tmp.stat().st_size),
                         record_path=str(record_path(model_path)), report_path=str(report_path(model_path)))
        record_tmp = _temp(folder, record_path(model_path).name, ".json", temps)
        _saving(lambda: record_tmp.write_text(record_text(result), encoding="utf-8"), model_path)
        page_tmp = _temp(folder, report_path(model_path).name, ".html", temps)
        _saving(lambda: page_tmp.write_text(render_page(result), encoding="utf-8"), model_path)
        _signals.check()
        for tmp, final in zip(temps, (model_path, record_path(model_path), report_path(model_path))):
            os.replace(tmp, final)
        temps.clear()
        return result
    finally:
        for tmp in temps:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()


def record_text(result: TrainResult) -> str:
    """The record file's JSON: the files written beside the record (the model, the record,
    the report, exported artifacts and manifests) named by their file name, so the record
    stays true when the folder moves (copied to a device, renamed into place)."""
    folder = Path(result.record_path).resolve().parent
    data = result.to_json()

    def beside(path):
        return Path(path).name if isinstance(path, str) and Path(path).resolve().parent == folder else path

    if data.get("model"):
        data["model"]["path"] = beside(data["model"]["path"])
    data["record_path"], data["report_path"] = beside(data["record_path"]), beside(data["report_path"])
    export = data.get("export") or {}
    for artifact in export.get("artifacts", []):
        artifact["path"], artifact["manifest_path"] = beside(artifact["path"]), beside(artifact["manifest_path"])
    compiled = export.get("edgetpu") or {}
    for key in ("paths", "manifests"):
        if key in compiled:
            compiled[key] = [beside(p) for p in compiled[key]]
    return dumps(data, indent=1)


def rewrite_record(result: TrainResult, render_page) -> None:
    """The record and report again, now with the exported artifacts (atomically)."""
    atomic_write_text(result.record_path, record_text(result))
    atomic_write_text(result.report_path, render_page(result))


def _temp(folder: Path, name: str, suffix: str, temps: list) -> Path:
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=f".tmp{suffix}", dir=folder)
    os.close(fd)
    temps.append(Path(tmp))
    return Path(tmp)


def _saving(write, model_path: Path) -> None:
    try:
        write()
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise _no_space(model_path, exc) from exc
        raise BadInputError(f"cannot write beside {model_path}: {exc.strerror or exc}; nothing was written") from exc
    except Exception as exc:  # Keras wraps h5py/zip errors; a full disk is the usual cause
        if "No space left" in str(exc) or "ENOSPC" in str(exc):
            raise _no_space(model_path, exc) from exc
        raise


def _no_space(model_path: Path, exc) -> BadInputError:
    return BadInputError(f"no space left in {model_path.parent} while writing {model_path.name}; nothing was "
                         "written: free some space or write elsewhere with `output`")
