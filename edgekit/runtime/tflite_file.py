"""Read and write the TFLite flatbuffer without TensorFlow.

The schema comes from `ai_edge_litert.schema_py_generated` (shipped with ai-edge-litert),
so a device with only the runtime installed can list ops, tensors and quantization
parameters, and read or embed `Model.metadata` entries such as the edgekit manifest.

Reading uses the flatbuffer accessors directly (nothing is copied); writing uses the
object API (`ModelT`) and packs a new flatbuffer. Malformed bytes never escape as
struct/Index/Value errors: every parse failure becomes a BadInputError.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..artifact import METADATA_NAME as MANIFEST_METADATA_NAME  # noqa: F401 - re-exported
from ..artifact import to_json
from ..errors import BadInputError, MissingDependencyError, UsageError, one_line
FILE_IDENTIFIER = b"TFL3"
SCHEMA_VERSION = 3
BUFFER_ALIGNMENT = 16  # the TFLite converter aligns constant data to 16 bytes
MAX_FLATBUFFER_BYTES = 2**31 - 1

# TensorType enum value -> numpy-style dtype name.
_DTYPE_NAMES = {
    0: "float32", 1: "float16", 2: "int32", 3: "uint8", 4: "int64", 5: "string",
    6: "bool", 7: "int16", 8: "complex64", 9: "int8", 10: "float64", 11: "complex128",
    12: "uint64", 13: "resource", 14: "variant", 15: "uint32", 16: "uint16", 17: "int4",
    18: "bfloat16", 19: "int2", 20: "uint4", 21: "float8_e4m3fn", 22: "float8_e5m2",
}
FLOAT_DTYPES = frozenset(
    {"float32", "float16", "float64", "bfloat16", "float8_e4m3fn", "float8_e5m2",
     "complex64", "complex128"}
)
# bool counts as integer: comparisons in an int8 model do not make it a float model.
INTEGER_DTYPES = frozenset(
    {"int2", "int4", "uint4", "int8", "uint8", "int16", "uint16", "int32", "uint32",
     "int64", "uint64", "bool"}
)


def flatbuffer_schema():
    """The generated TFLite schema module, or a MissingDependencyError."""
    try:
        from ai_edge_litert import schema_py_generated
    except ImportError as exc:
        raise MissingDependencyError(
            "reading or writing .tflite files needs the TFLite schema from ai-edge-litert; "
            "install it with: pip install ai-edge-litert"
        ) from exc
    return schema_py_generated


def read_tflite_file(path) -> bytes:
    """The bytes of a .tflite file: one BadInputError for a missing file, a folder, a file
    that cannot be read, or one that is not a TFLite flatbuffer."""
    if not isinstance(path, (str, os.PathLike)):
        hint = "; for bytes in memory use Model.from_bytes(data)" if isinstance(path, (bytes, bytearray)) else ""
        raise UsageError(f"`path` is the path of a .tflite file; received {type(path).__name__}{hint}")
    path = Path(path)
    if not path.exists():
        raise BadInputError(f"model file not found: {path}; check the path")
    if path.is_dir():
        raise BadInputError(
            f"{path} is a folder, not a .tflite file; convert a SavedModel or Keras model first "
            "(edgekit convert) and pass the .tflite"
        )
    if not path.is_file():
        raise BadInputError(f"{path} is not a regular file (a device, FIFO or socket); pass a .tflite file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BadInputError(f"cannot read model file {path}: {exc.strerror or exc}") from exc
    check_tflite_bytes(data, str(path))
    return data


def check_tflite_bytes(data: bytes, source: str = "the data") -> None:
    """Raise BadInputError unless `data` carries the TFLite file identifier (TFL3)."""
    if len(data) < 8 or bytes(data[4:8]) != FILE_IDENTIFIER:
        raise BadInputError(
            f"{source} is not a TFLite model (no TFL3 identifier); pass a .tflite file "
            "written by the TFLite converter (edgekit convert), not a Keras, SavedModel "
            "or ONNX file"
        )


# ---------------------------------------------------------------------------------------
# Reading


class _Malformed(ValueError):
    """Raised inside the parser for structure that cannot be right."""


def _parse_error(source: str, exc: BaseException) -> BadInputError:
    reason = one_line(str(exc).splitlines()[0], 120) if str(exc) else type(exc).__name__
    return BadInputError(
        f"{source} is not a valid TFLite flatbuffer: {reason}; the file is truncated or "
        "corrupt, re-export or re-copy it"
    )


def _count(n: int, data: bytes, what: str) -> int:
    """A vector length that is possible for this file size (each entry takes >= 4 bytes)."""
    if n < 0 or n * 4 > len(data):
        raise _Malformed(f"{what} count {n} does not fit in {len(data)} bytes")
    return n


def _text(value) -> str:
    """A flatbuffer string (bytes, or str in an object tree) as text; "" when absent."""
    if value is None:
        return ""
    return value if isinstance(value, str) else value.decode("utf-8", errors="replace")


def _root(data: bytes, source: str):
    """The Model table of a TFLite flatbuffer (identifier checked)."""
    check_tflite_bytes(data, source)
    schema = flatbuffer_schema()
    try:
        model = schema.Model.GetRootAs(data, 0)
        if not 8 <= model._tab.Pos < len(data):
            raise _Malformed(f"the root table offset {model._tab.Pos} is outside the file")
        if model.Version() != SCHEMA_VERSION:
            raise _Malformed(
                f"schema version {model.Version()} (TFLite models have {SCHEMA_VERSION})"
            )
        if model.SubgraphsLength() < 1:
            raise _Malformed("the model has no subgraphs")
    except Exception as exc:  # noqa: BLE001 - any parse failure means a bad file
        raise _parse_error(source, exc) from exc
    return model


def _buffer_bytes(model, data: bytes, index: int) -> bytes:
    """Contents of buffer `index`, inline or stored after the flatbuffer (offset/size)."""
    if not 0 <= index < _count(model.BuffersLength(), data, "buffer"):
        raise _Malformed(f"buffer index {index} is out of range")
    buffer = model.Buffers(index)
    offset, size = buffer.Offset(), buffer.Size()
    if offset > 1:  # offsets 0 and 1 are "not external" sentinels in TFLite
        if offset + size > len(data):
            raise _Malformed(f"buffer {index} lies past the end of the file")
        return bytes(data[offset:offset + size])
    if buffer.DataIsNone():
        return b""
    return buffer.DataAsNumpy().tobytes()


def _buffer_size(model, data: bytes, index: int) -> int:
    """Byte size of buffer `index` without copying it."""
    buffer = model.Buffers(index)
    if buffer.Offset() > 1:
        return int(buffer.Size())
    return 0 if buffer.DataIsNone() else int(buffer.DataLength())


def _metadata_entries(model, data: bytes) -> list[tuple[str, int]]:
    """(name, buffer index) for each Model.metadata entry."""
    entries = []
    for i in range(_count(model.MetadataLength(), data, "metadata")):
        entry = model.Metadata(i)
        entries.append((_text(entry.Name()), int(entry.Buffer())))
    return entries


def read_metadata(data: bytes, name: str, source: str = "the model") -> bytes | None:
    """The bytes of the Model.metadata entry `name`, or None when there is no such entry."""
    model = _root(data, source)
    try:
        for entry_name, buffer_index in _metadata_entries(model, data):
            if entry_name == name:
                return _buffer_bytes(model, data, buffer_index)
    except BadInputError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise _parse_error(source, exc) from exc
    return None


# ---------------------------------------------------------------------------------------
# describe()


@dataclass(frozen=True)
class TensorInfo:
    """One tensor of subgraph 0 as stored in the file."""

    index: int
    name: str
    shape: tuple
    shape_signature: tuple
    dtype: str
    scales: tuple = ()
    zero_points: tuple = ()
    quantized_dimension: int = 0
    is_constant: bool = False
    constant_bytes: int = 0
    buffer: int = 0

    @property
    def quantized(self) -> bool:
        return len(self.scales) > 0

    def to_dict(self) -> dict:
        return to_json(self)


@dataclass(frozen=True)
class OpInfo:
    """One operator of subgraph 0, in execution order."""

    index: int
    name: str
    version: int
    inputs: tuple
    outputs: tuple
    custom_code: str | None = None
    # The builtin options (fused activation, strides, dilation, masks...) as plain values,
    # keys in snake_case as in the TFLite schema; {} for ops without options.
    options: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return to_json(self)


@dataclass(frozen=True)
class ModelInfo:
    """What a .tflite file contains, read from the flatbuffer alone (no interpreter)."""

    size_bytes: int
    version: int
    description: str
    subgraph_count: int
    ops: tuple
    op_histogram: dict
    tensors: tuple
    inputs: tuple
    outputs: tuple
    signatures: dict
    metadata_names: tuple
    fully_integer: bool
    float_ops: tuple
    dynamic_shapes: bool
    param_bytes: int = 0

    def to_dict(self) -> dict:
        return to_json(self)


def _vector(table, name: str, data: bytes, cast=int) -> tuple:
    """A scalar vector field (Shape, Inputs, Scale...) as a tuple; () when absent."""
    if getattr(table, f"{name}IsNone")():
        return ()
    _count(getattr(table, f"{name}Length")(), data, name)
    return tuple(cast(v) for v in getattr(table, f"{name}AsNumpy")().tolist())


def _op_names(schema) -> dict[int, str]:
    return {
        value: key for key, value in vars(schema.BuiltinOperator).items()
        if not key.startswith("_") and isinstance(value, int)
    }


def _read_opcodes(model, data: bytes, schema) -> list[tuple[str, int, str | None]]:
    """(op name, version, custom code) for each operator code."""
    names = _op_names(schema)
    codes = []
    for i in range(_count(model.OperatorCodesLength(), data, "operator code")):
        code = model.OperatorCodes(i)
        builtin = max(int(code.BuiltinCode()), int(code.DeprecatedBuiltinCode()))
        name = names.get(builtin, f"UNKNOWN_{builtin}")
        custom = _text(code.CustomCode()) if name == "CUSTOM" else None
        codes.append((name, int(code.Version()), custom))
    return codes


def _read_tensor(tensor, index: int, model, data: bytes) -> TensorInfo:
    shape = _vector(tensor, "Shape", data)
    signature = _vector(tensor, "ShapeSignature", data) or shape
    scales, zero_points, axis = (), (), 0
    quantization = tensor.Quantization()
    if quantization is not None:
        scales = _vector(quantization, "Scale", data, float)
        zero_points = _vector(quantization, "ZeroPoint", data)
        axis = int(quantization.QuantizedDimension())
    buffer_index = int(tensor.Buffer())
    if buffer_index >= _count(model.BuffersLength(), data, "buffer"):
        raise _Malformed(f"tensor {index} refers to missing buffer {buffer_index}")
    constant = _buffer_size(model, data, buffer_index) if buffer_index > 0 else 0
    return TensorInfo(
        index=index,
        name=_text(tensor.Name()),
        shape=shape,
        shape_signature=signature,
        dtype=_DTYPE_NAMES.get(int(tensor.Type()), f"type_{int(tensor.Type())}"),
        scales=scales,
        zero_points=zero_points,
        quantized_dimension=axis,
        is_constant=constant > 0,
        constant_bytes=constant,
        buffer=buffer_index,
    )


def _plain(value):
    """An options attribute as a JSON-friendly value (numpy vectors -> lists)."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        return value.item()
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return None  # nested tables (rare in builtin options) are left out


def _op_options(op, schema, option_names: dict[int, str]) -> dict:
    """The op's builtin options (BuiltinOptions union) as {snake_case_name: value}."""
    kind = int(op.BuiltinOptionsType())
    name = option_names.get(kind)
    table = op.BuiltinOptions() if kind else None
    reader, holder = getattr(schema, name or "", None), getattr(schema, f"{name}T", None)
    if table is None or reader is None or holder is None:
        return {}
    options = reader()
    options.Init(table.Bytes, table.Pos)
    values = vars(holder.InitFromObj(options))
    return {re.sub(r"(?<!^)(?=[A-Z])", "_", key).lower(): _plain(v) for key, v in values.items()}


def _read_subgraph(subgraph, model, data: bytes, opcodes):
    """(tensors, ops) of one subgraph."""
    schema = flatbuffer_schema()
    option_names = {
        value: key for key, value in vars(schema.BuiltinOptions).items()
        if not key.startswith("_") and isinstance(value, int)
    }
    tensors = tuple(
        _read_tensor(subgraph.Tensors(i), i, model, data)
        for i in range(_count(subgraph.TensorsLength(), data, "tensor"))
    )
    ops = []
    for i in range(_count(subgraph.OperatorsLength(), data, "operator")):
        op = subgraph.Operators(i)
        name, version, custom = opcodes[int(op.OpcodeIndex())]
        inputs, outputs = _vector(op, "Inputs", data), _vector(op, "Outputs", data)
        for t in inputs + outputs:
            if t >= len(tensors):
                raise _Malformed(f"operator {i} refers to missing tensor {t}")
        options = _op_options(op, schema, option_names)
        ops.append(OpInfo(i, name, version, inputs, outputs, custom, options))
    return tensors, tuple(ops)


def _float_ops(ops, tensors) -> list[str]:
    """Names of ops (first seen order, unique) that read or write a float tensor."""
    names = []
    for op in ops:
        touched = [t for t in op.inputs + op.outputs if t >= 0]
        if any(tensors[t].dtype in FLOAT_DTYPES for t in touched) and op.name not in names:
            names.append(op.name)
    return names


def _all_integer(ops, tensors, io_indices) -> bool:
    touched = {t for op in ops for t in op.inputs + op.outputs if t >= 0} | set(io_indices)
    return all(tensors[t].dtype in INTEGER_DTYPES for t in touched)


def _read_signatures(model, data: bytes) -> dict:
    """{signature key: {"subgraph": i, "inputs": {name: tensor}, "outputs": {...}}}."""
    signatures = {}
    for i in range(_count(model.SignatureDefsLength(), data, "signature")):
        sig = model.SignatureDefs(i)
        maps = {}
        for kind in ("Inputs", "Outputs"):
            length = _count(getattr(sig, f"{kind}Length")(), data, "signature tensor")
            entries = [getattr(sig, kind)(j) for j in range(length)]
            maps[kind.lower()] = {_text(e.Name()): int(e.TensorIndex()) for e in entries}
        signatures[_text(sig.SignatureKey())] = {"subgraph": int(sig.SubgraphIndex()), **maps}
    return signatures


def describe(data: bytes, source: str = "the model") -> ModelInfo:
    """Ops, tensors, quantization and metadata of a .tflite, from the bytes alone.

    Raises BadInputError for anything that is not a well-formed TFLite flatbuffer.
    """
    model = _root(data, source)
    try:
        return _describe(model, data)
    except BadInputError:
        raise
    except Exception as exc:  # noqa: BLE001 - struct.error, IndexError, RecursionError...
        raise _parse_error(source, exc) from exc


def _describe(model, data: bytes) -> ModelInfo:
    schema = flatbuffer_schema()
    opcodes = _read_opcodes(model, data, schema)
    n_subgraphs = _count(model.SubgraphsLength(), data, "subgraph")
    subgraphs = [
        _read_subgraph(model.Subgraphs(i), model, data, opcodes) for i in range(n_subgraphs)
    ]
    main = model.Subgraphs(0)
    tensors, ops = subgraphs[0]
    inputs, outputs = _vector(main, "Inputs", data), _vector(main, "Outputs", data)
    for t in inputs + outputs:
        if not 0 <= t < len(tensors):
            raise _Malformed(f"model input/output refers to missing tensor {t}")
    float_ops, fully_integer = [], _all_integer((), tensors, inputs + outputs)
    for sub_tensors, sub_ops in subgraphs:
        float_ops += [n for n in _float_ops(sub_ops, sub_tensors) if n not in float_ops]
        fully_integer = fully_integer and _all_integer(sub_ops, sub_tensors, ())
    # tensors may share a buffer: count each buffer once
    constant_buffers = {t.buffer: t.constant_bytes for sub in subgraphs for t in sub[0]}
    return ModelInfo(
        size_bytes=len(data),
        version=int(model.Version()),
        description=_text(model.Description()),
        subgraph_count=n_subgraphs,
        ops=ops,
        op_histogram=dict(Counter(op.name for op in ops)),
        tensors=tensors,
        inputs=tuple(tensors[t] for t in inputs),
        outputs=tuple(tensors[t] for t in outputs),
        signatures=_read_signatures(model, data),
        metadata_names=tuple(name for name, _ in _metadata_entries(model, data)),
        fully_integer=fully_integer,
        float_ops=tuple(float_ops),
        dynamic_shapes=any(
            -1 in t.shape_signature for sub in subgraphs for t in sub[0] if not t.is_constant
        ),
        param_bytes=sum(constant_buffers.values()),
    )


def read_tensor_data(data: bytes, tensor: TensorInfo, source: str = "the model"):
    """The values of a constant tensor (a numpy array in its shape), or None.

    None for non-constant tensors and for dtypes numpy cannot hold (int4, bfloat16...).
    """
    if not tensor.is_constant:
        return None
    try:
        dtype = np.dtype(tensor.dtype)
    except TypeError:
        return None
    model = _root(data, source)
    try:
        raw = _buffer_bytes(model, data, tensor.buffer)
    except Exception as exc:  # noqa: BLE001
        raise _parse_error(source, exc) from exc
    if len(raw) % dtype.itemsize:
        return None
    values = np.frombuffer(raw, dtype=dtype)
    count = int(np.prod(tensor.shape)) if tensor.shape else 1
    return values.reshape(tensor.shape) if values.size == count else values


# ---------------------------------------------------------------------------------------
# Writing


def unpack_model(data: bytes, source: str = "the model"):
    """The whole model as a schema ModelT object tree (to edit it), buffers stored after the
    flatbuffer pulled inline; a malformed file is a BadInputError naming `source`."""
    schema = flatbuffer_schema()
    _root(data, source)
    try:
        model = schema.ModelT.InitFromPackedBuf(data, 0)
    except Exception as exc:  # noqa: BLE001
        raise _parse_error(source, exc) from exc
    for index, buffer in enumerate(model.buffers or []):
        if buffer is not None and buffer.offset > 1:
            if buffer.offset + buffer.size > len(data):
                raise _parse_error(source, _Malformed(f"buffer {index} lies past the end"))
            buffer.data = np.frombuffer(data, np.uint8, buffer.size, buffer.offset)
            buffer.offset, buffer.size = 0, 0
    return model


def _aligned_buffer_class(schema):
    """A BufferT whose data is packed 16-byte aligned, as the TFLite converter does."""

    class AlignedBufferT(schema.BufferT):
        def Pack(self, builder):  # noqa: N802 - flatbuffers naming
            data = None
            if self.data is not None and len(self.data):
                raw = np.asarray(self.data, dtype=np.uint8).tobytes()
                builder.StartVector(1, len(raw), BUFFER_ALIGNMENT)
                builder.head = builder.Head() - len(raw)
                builder.Bytes[builder.Head():builder.Head() + len(raw)] = raw
                data = builder.EndVector()
            schema.BufferStart(builder)
            if data is not None:
                schema.BufferAddData(builder, data)
            return schema.BufferEnd(builder)

    return AlignedBufferT


def _set_entry(model, schema, name: str, payload: bytes) -> None:
    """Point metadata entry `name` at a buffer holding `payload` (replace or add)."""
    model.buffers = model.buffers or []
    model.metadata = model.metadata or []
    data = np.frombuffer(payload, dtype=np.uint8)
    entry = next((m for m in model.metadata if m is not None and _text(m.name) == name), None)
    if entry is not None and _buffer_owned_by(model, entry):
        model.buffers[entry.buffer] = schema.BufferT(data=data)
        return
    model.buffers.append(schema.BufferT(data=data))
    if entry is None:
        entry = schema.MetadataT(name=name)
        model.metadata.append(entry)
    entry.buffer = len(model.buffers) - 1


def _buffer_owned_by(model, entry) -> bool:
    """True when `entry`'s buffer is used by nothing else (safe to overwrite)."""
    if not 0 < entry.buffer < len(model.buffers):
        return False
    users = sum(1 for m in model.metadata if m is not None and m.buffer == entry.buffer)
    for subgraph in model.subgraphs or []:
        users += sum(1 for t in subgraph.tensors or [] if t.buffer == entry.buffer)
    return users == 1


def pack_model(model) -> bytes:
    """Serialize a ModelT (from `unpack_model`) with the TFL3 identifier and 16-byte aligned
    buffer data, as the TFLite converter writes them; BadInputError past the 2 GB limit."""
    size = sum(len(b.data) for b in model.buffers or [] if b is not None and b.data is not None)
    if size >= MAX_FLATBUFFER_BYTES:
        raise BadInputError("the edited model would exceed the 2 GB flatbuffer limit")
    return _pack(model, flatbuffer_schema(), size)


_unpack = unpack_model


def _pack(model, schema, size_hint: int) -> bytes:
    """Serialize a ModelT with the TFL3 identifier and 16-byte aligned buffer data."""
    import flatbuffers

    aligned = _aligned_buffer_class(schema)
    model.buffers = [
        aligned(data=b.data) if b is not None else aligned() for b in model.buffers or []
    ]
    builder = flatbuffers.Builder(min(size_hint + 4096, MAX_FLATBUFFER_BYTES))
    builder.Finish(model.Pack(builder), file_identifier=FILE_IDENTIFIER)
    return bytes(builder.Output())


def embed_metadata(data: bytes, name: str, payload: bytes, source: str = "the model") -> bytes:
    """A new .tflite with Model.metadata entry `name` set to `payload`.

    An existing entry of that name is replaced. Buffers stored after the flatbuffer
    (offset/size) are moved inline, so the result must stay under 2 GB.
    """
    if not isinstance(payload, (bytes, bytearray, memoryview)):
        raise BadInputError(
            f"metadata payload must be bytes; received {type(payload).__name__}; "
            "encode text with .encode('utf-8')"
        )
    schema = flatbuffer_schema()
    model = _unpack(data, source)
    _set_entry(model, schema, name, bytes(payload))
    if len(data) + len(payload) >= MAX_FLATBUFFER_BYTES:
        raise BadInputError(
            f"{source} with its metadata would exceed the 2 GB flatbuffer limit; "
            "write the manifest as a sidecar .json file instead"
        )
    return _pack(model, schema, len(data) + len(payload))
