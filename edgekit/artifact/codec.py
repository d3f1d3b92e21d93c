"""Frozen dataclasses <-> JSON, validated by their own type annotations.

One encoder and one decoder for every typed result edgekit writes or reads (manifests,
benchmark results, comparisons). JSON is produced only at the edges:

    data = to_json(result)                    # plain dicts/lists, JSON-safe
    result = from_json(BenchResult, data, "the benchmark result")

Non-finite floats (the infinite SNR of identical outputs) are written as the strings "inf",
"-inf" and "nan" and read back as floats, the same way everywhere. Decoding is where untrusted
JSON (a manifest inside a downloaded .tflite, a device's answer) becomes a typed value: every
field is checked against its annotation and the first mismatch raises one `SchemaError` line
naming the field path ("verification.accuracy: expected a number or null; received 'abc'").
Unknown keys are ignored (newer writers may add sections).
"""

from __future__ import annotations

import dataclasses
import json
import math
import types
import typing
from typing import Any

from ..errors import BadInputError

MAX_DEPTH = 64  # nesting a legitimate edgekit document never approaches
MAX_TEXT_BYTES = 64 * 2**20


class SchemaError(BadInputError):
    """JSON that does not match the schema of the type it should hold."""


# ---------------------------------------------------------------------------------------
# Encoding


def to_json(value: Any) -> Any:
    """`value` (dataclasses, tuples, dicts, numpy scalars, floats) as JSON-safe plain data."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_json(getattr(value, f.name)) for f in dataclasses.fields(value)
                if f.metadata.get("json", True)}
    if isinstance(value, float) or type(value).__name__ in ("float32", "float64", "float16"):
        return encode_float(float(value))
    if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
        return value
    if hasattr(value, "item") and hasattr(value, "dtype") and getattr(value, "shape", None) == ():
        return to_json(value.item())  # a numpy scalar
    if isinstance(value, dict):
        return {str(key): to_json(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)) or hasattr(value, "tolist"):
        items = value.tolist() if hasattr(value, "tolist") else value
        return [to_json(item) for item in items]
    if hasattr(value, "__fspath__"):
        return str(value)
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def encode_float(value: float) -> float | str:
    if math.isfinite(value):
        return value
    return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")


def dumps(value: Any, indent: int | None = 2) -> str:
    """JSON text of `value` (through `to_json`), never with bare NaN/Infinity."""
    return json.dumps(to_json(value), indent=indent, allow_nan=False) + "\n"


def loads(text: str | bytes, what: str) -> Any:
    """Parse JSON text from outside edgekit; one SchemaError line for anything malformed,
    including nesting too deep for the parser."""
    if len(text) > MAX_TEXT_BYTES:
        raise SchemaError(f"{what} is {len(text):,} bytes of JSON, more than edgekit reads ({MAX_TEXT_BYTES:,})")
    try:
        if isinstance(text, bytes):
            text = text.decode("utf-8")
        return json.loads(text)
    except UnicodeDecodeError as exc:
        raise SchemaError(f"{what} is not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    except RecursionError as exc:
        raise SchemaError(f"{what} is JSON nested too deeply to read") from exc
    except ValueError as exc:
        raise SchemaError(f"{what} is not valid JSON ({exc})") from exc


# ---------------------------------------------------------------------------------------
# Decoding


def from_json(cls: type, data: Any, what: str) -> Any:
    """Build a `cls` instance (a dataclass) from parsed JSON, checking every field."""
    return _decode(cls, data, what, "", 0)


def _path(base: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{base}[{key}]"
    return f"{base}.{key}" if base else key


def _fail(what: str, path: str, expected: str, value: Any) -> SchemaError:
    shown = repr(value) if isinstance(value, (str, int, float, bool)) or value is None else f"a JSON {_kind(value)}"
    if len(shown) > 60:
        shown = shown[:57] + "..."
    where = f"{path}: " if path else ""
    return SchemaError(f"{what}: {where}expected {expected}; received {shown}")


def _kind(value: Any) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean"}.get(type(value), type(value).__name__)


def _decode(tp: Any, value: Any, what: str, path: str, depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise SchemaError(f"{what}: {path or 'the document'} is nested more than {MAX_DEPTH} levels deep")
    origin = typing.get_origin(tp)
    if tp is Any:
        return _plain(value, what, path, depth)
    if origin in (typing.Union, types.UnionType):
        return _decode_union(tp, value, what, path, depth)
    if origin is typing.Literal:
        if value not in typing.get_args(tp):
            choices = ", ".join(repr(c) for c in typing.get_args(tp))
            raise _fail(what, path, f"one of {choices}", value)
        return value
    if origin is tuple:
        return _decode_tuple(tp, value, what, path, depth)
    if origin is dict:
        if not isinstance(value, dict):
            raise _fail(what, path, "an object", value)
        _, item = typing.get_args(tp)
        return {str(k): _decode(item, v, what, _path(path, str(k)), depth + 1) for k, v in value.items()}
    if dataclasses.is_dataclass(tp):
        return _decode_dataclass(tp, value, what, path, depth)
    return _decode_scalar(tp, value, what, path)


def _decode_union(tp, value, what, path, depth):
    args = typing.get_args(tp)
    if value is None and type(None) in args:
        return None
    options = [a for a in args if a is not type(None)]
    errors = []
    for option in options:
        try:
            return _decode(option, value, what, path, depth)
        except SchemaError as exc:
            errors.append(exc)
    if len(errors) == 1 and _same_kind(options[0], value):
        raise errors[0]  # the value has the right kind; the problem is inside it
    names = " or ".join(_describe(a) for a in options)
    raise _fail(what, path, names + (" or null" if type(None) in args else ""), value)


def _same_kind(tp, value) -> bool:
    """Whether `value` is the JSON kind `tp` takes (an object, an array, a scalar)."""
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp) or origin is dict:
        return isinstance(value, dict)
    if origin is tuple:
        return isinstance(value, list)
    return not isinstance(value, (dict, list))


def _decode_tuple(tp, value, what, path, depth):
    if not isinstance(value, list):
        raise _fail(what, path, "an array", value)
    args = typing.get_args(tp)
    if len(args) == 2 and args[1] is Ellipsis:
        return tuple(_decode(args[0], v, what, _path(path, i), depth + 1) for i, v in enumerate(value))
    if len(args) != len(value):
        raise _fail(what, path, f"an array of {len(args)} items", value)
    return tuple(_decode(a, v, what, _path(path, i), depth + 1) for i, (a, v) in enumerate(zip(args, value)))


def _decode_dataclass(cls, value, what, path, depth):
    if not isinstance(value, dict):
        raise _fail(what, path, "an object", value)
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for field in dataclasses.fields(cls):
        if not field.init:
            continue
        if field.name not in value:
            if field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
                raise SchemaError(f"{what}: {_path(path, field.name)} is missing")
            continue
        kwargs[field.name] = _decode(hints[field.name], value[field.name], what, _path(path, field.name), depth + 1)
    try:
        return cls(**kwargs)
    except SchemaError:
        raise
    except (BadInputError, TypeError, ValueError) as exc:
        message = getattr(exc, "message", str(exc)).replace("`", "")  # no parameter of the caller's
        raise SchemaError(f"{what}: {path or cls.__name__}: {message}") from exc


def _decode_scalar(tp, value, what, path):
    if tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if value in ("inf", "-inf", "nan"):
            return float(value)
    elif tp is str:
        if isinstance(value, str):
            return value
    elif tp is type(None):
        if value is None:
            return None
    else:
        raise TypeError(f"the codec cannot decode {tp!r}")
    raise _fail(what, path, _describe(tp), value)


def _describe(tp) -> str:
    if dataclasses.is_dataclass(tp):
        return "an object"
    origin = typing.get_origin(tp)
    if origin is tuple:
        return "an array"
    if origin is dict:
        return "an object"
    if origin is typing.Literal:
        return "one of " + ", ".join(repr(c) for c in typing.get_args(tp))
    return {bool: "true or false", int: "a whole number", float: "a number", str: "a string",
            type(None): "null"}.get(tp, getattr(tp, "__name__", str(tp)))


def _plain(value, what, path, depth):
    """Any JSON value, with its depth bounded (free-form sections of a manifest)."""
    if depth > MAX_DEPTH:
        raise SchemaError(f"{what}: {path or 'the document'} is nested more than {MAX_DEPTH} levels deep")
    if isinstance(value, dict):
        return {str(k): _plain(v, what, _path(path, str(k)), depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v, what, _path(path, i), depth + 1) for i, v in enumerate(value)]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise _fail(what, path, "a JSON value", value)
