"""A static scan of a model file before any Keras call: refuse code-bearing or file-reaching
content. Models are programs (TensorFlow's security policy); Keras' safe_mode has been
bypassed before, so edgekit does not rely on it alone.

- `.keras`: the zip itself (member count, total uncompressed size, compression ratio, no
  absolute or `..` names, no links) and `config.json`, walked recursively (nested models too).
- `.h5`: the stored `model_config` attribute read as JSON (nothing deserialized), and every
  HDF5 link checked for external links / external storage.

Refused: Lambda (and other code-carrying layers), layers that load other files or modules
(TFSMLayer, TorchModuleWrapper, JaxLayer, FlaxLayer), classes from modules outside Keras
that the user did not vouch for with --custom-objects, and string arguments that are URLs or
file paths. `--trust-model` lifts the refusal.
"""

from __future__ import annotations

import json
import re
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ..errors import BadInputError

CODE_LAYERS = {
    "Lambda": "runs arbitrary Python code",
    "TFSMLayer": "loads another SavedModel from a path",
    "TorchModuleWrapper": "unpickles a PyTorch module",
    "JaxLayer": "wraps arbitrary JAX functions",
    "FlaxLayer": "wraps an arbitrary Flax module",
    "__lambda__": "is a serialized Python lambda (bytecode that runs on load)",
}
# Functions a config may name that switch Keras' own protections off.
UNSAFE_NAMES = {
    "enable_unsafe_deserialization": "turns off Keras' safe_mode for the whole process",
    "keras.config.enable_unsafe_deserialization": "turns off Keras' safe_mode for the whole process",
}
MAX_MEMBERS = 10_000
MAX_TOTAL_BYTES = 8 * 2**30
MAX_RATIO = 200  # uncompressed / compressed, per member larger than 1 MiB
FILE_KEYS = {"vocabulary", "filepath", "file_path", "path", "vocabulary_path", "idf_weights", "filename"}
_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")
_WINDOWS_PATH = re.compile(r"^[a-zA-Z]:[\\/]")
_TRUST = "if you trust this file, pass `trust_model`"


@dataclass(frozen=True)
class ScanReport:
    path: str
    format: str
    layers: int
    classes: tuple[str, ...]

    def to_dict(self) -> dict:
        return {"path": self.path, "format": self.format, "layers": self.layers, "classes": list(self.classes)}


def _refuse(path: Path, what: str) -> BadInputError:
    return BadInputError(f"refusing to load {path.name}: {what}; {_TRUST}")


def scan_keras_zip(path: Path, allowed_custom: set[str]) -> ScanReport:
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            _check_members(path, infos)
            if "config.json" not in archive.namelist():
                raise BadInputError(f"{path.name} is a zip without config.json: not a Keras 3 model file")
            raw = archive.read("config.json")
    except zipfile.BadZipFile as exc:
        raise BadInputError(f"{path.name} is not a valid .keras file ({exc}); re-save it with model.save()") from exc
    return _scan_config(path, "keras", _parse_json(path, raw), allowed_custom)


def _check_members(path: Path, infos) -> None:
    if len(infos) > MAX_MEMBERS:
        raise _refuse(path, f"the zip has {len(infos)} members (a Keras model has a handful; limit {MAX_MEMBERS})")
    total = sum(i.file_size for i in infos)
    if total > MAX_TOTAL_BYTES:
        raise _refuse(path, f"the zip unpacks to {total / 2**30:.1f} GiB (limit {MAX_TOTAL_BYTES / 2**30:.0f} GiB)")
    for info in infos:
        name = PurePosixPath(info.filename)
        if name.is_absolute() or ".." in name.parts or "\\" in info.filename or _WINDOWS_PATH.match(info.filename):
            raise _refuse(path, f"zip member {info.filename!r} has an absolute or parent-relative name")
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            raise _refuse(path, f"zip member {info.filename!r} is a symbolic link")
        if info.file_size > 2**20 and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise _refuse(path, f"zip member {info.filename!r} expands {info.file_size // max(info.compress_size, 1)}x (a zip bomb?)")


def _parse_json(path: Path, raw) -> dict:
    if not isinstance(raw, (str, bytes, bytearray)):
        raise BadInputError(f"{path.name}: the stored model config is a {type(raw).__name__}, not JSON text; "
                            "this is not a Keras model file")
    try:
        config = json.loads(raw)
    except RecursionError as exc:
        raise BadInputError(f"{path.name}: the stored model config is nested too deeply to be a model") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadInputError(f"{path.name}: the stored model config is not valid JSON ({exc})") from exc
    if not isinstance(config, dict):
        raise BadInputError(f"{path.name}: the stored model config is not a JSON object")
    return config


def scan_h5(path: Path, allowed_custom: set[str]) -> ScanReport:
    try:
        import h5py
    except ImportError as exc:
        from ..errors import MissingDependencyError

        raise MissingDependencyError('reading .h5 models needs h5py: pip install "edgekit[convert]"') from exc
    try:
        with h5py.File(path, "r") as handle:
            _check_h5_links(path, handle, h5py)
            raw = handle.attrs.get("model_config")
    except OSError as exc:
        raise BadInputError(f"{path.name} is not a readable HDF5 file ({exc})") from exc
    if raw is None:
        raise BadInputError(
            f"{path.name} holds no model_config: it is a weights-only .h5, not a model; save the "
            "whole model with model.save('model.keras')"
        )
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", "replace")
    return _scan_config(path, "h5", _parse_json(path, raw), allowed_custom)


def _check_h5_links(path: Path, handle, h5py) -> None:
    found = []

    def visit(name, link):
        if isinstance(link, h5py.ExternalLink):
            found.append(f"{name} -> {link.filename}:{link.path}")
        return None

    handle.visititems_links(visit)
    if found:
        raise _refuse(path, f"the HDF5 file links to other files ({found[0]})")

    def external_storage(name, obj):
        if isinstance(obj, h5py.Dataset) and obj.external:
            found.append(name)
        return None

    handle.visititems(external_storage)
    if found:
        raise _refuse(path, f"HDF5 dataset {found[0]!r} stores its data in an external file")


def _scan_config(path: Path, fmt: str, config: dict, allowed_custom: set[str]) -> ScanReport:
    classes: list[str] = []
    _walk(path, config, allowed_custom, classes, "")
    return ScanReport(str(path), fmt, len(classes), tuple(sorted(set(classes))))


MAX_CONFIG_DEPTH = 256  # nested models and layer configs stay far below this


def _walk(path: Path, node, allowed: set[str], classes: list[str], where: str, depth: int = 0) -> None:
    if depth > MAX_CONFIG_DEPTH:
        raise BadInputError(f"{path.name}: the stored model config is nested more than {MAX_CONFIG_DEPTH} levels; "
                            "this is not a model edgekit loads")
    if isinstance(node, dict):
        if "class_name" in node and isinstance(node.get("class_name"), str):
            _check_class(path, node, allowed, where)
            classes.append(node["class_name"])
            where = _layer_name(node) or where
        for key, value in node.items():
            if isinstance(value, str):
                _check_string(path, key, value, where)
            else:
                _walk(path, value, allowed, classes, where, depth + 1)
    elif isinstance(node, list):
        for item in node:
            if isinstance(item, str):
                _check_string(path, "", item, where)
            else:
                _walk(path, item, allowed, classes, where, depth + 1)


def _layer_name(node: dict) -> str | None:
    config = node.get("config")
    return config.get("name") if isinstance(config, dict) and isinstance(config.get("name"), str) else None


def _check_class(path: Path, node: dict, allowed: set[str], where: str) -> None:
    name = node["class_name"]
    label = f"layer {_layer_name(node) or where or '?'!r} ({name})"
    if name in CODE_LAYERS:
        raise _refuse(path, f"{label} {CODE_LAYERS[name]}; replace it by built-in layers or a registered custom layer")
    module = node.get("module")
    registered = node.get("registered_name")
    outside = isinstance(module, str) and module != "keras" and not module.startswith("keras.")
    custom_name = registered.split(">")[-1] if isinstance(registered, str) else name
    if (outside or (isinstance(registered, str) and ">" in registered)) and custom_name not in allowed and name not in allowed:
        raise _refuse(
            path,
            f"{label} comes from module {module!r}, outside Keras; pass the module that defines it with "
            "`custom_objects`",
        )


def _check_string(path: Path, key: str, value: str, where: str) -> None:
    text = value.strip()
    if text in UNSAFE_NAMES:
        raise _refuse(path, f"layer {where or '?'!r} refers to {text!r}, which {UNSAFE_NAMES[text]}")
    looks_like_path = text.startswith(("/", "~")) or _WINDOWS_PATH.match(text) or "../" in text or "..\\" in text
    if _URL.match(text) or looks_like_path or (key in FILE_KEYS and text):
        raise _refuse(
            path,
            f"layer {where or '?'!r} argument {key or 'value'!r} = {text[:80]!r} points at a file or URL; "
            "models must carry their own data",
        )


def scan_model_file(path: str | Path, fmt: str, allowed_custom: set[str] | None = None) -> ScanReport:
    """Scan a .keras or .h5 file (fmt "keras" / "h5"); raise BadInputError on refusal."""
    path = Path(path)
    allowed = set(allowed_custom or ())
    if fmt == "keras":
        return scan_keras_zip(path, allowed)
    if fmt == "h5":
        return scan_h5(path, allowed)
    raise ValueError(f"scan_model_file handles keras/h5, not {fmt}")
