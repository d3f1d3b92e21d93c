"""Edits that make a float .tflite from elsewhere quantizable, with the flatbuffer object API.

No TensorFlow: the schema is `ai_edge_litert.schema_py_generated` (the `ModelT` object tree).

- `add_signature`: a SignatureDef over the main graph's inputs and outputs. LiteRT Quantizer
  calibrates by signature, and third-party files often have none.
- `normalize_opcodes`: op codes in the field current readers use (older files leave it 0).
- `widen_float16`: constant float16 weights that a DEQUANTIZE op turns into float32 at run
  time (how "float" models are often shipped, half the size) become float32 constants, and
  those DEQUANTIZE ops go. Exact (float16 -> float32 loses nothing); without it a quantizer
  sees no float weights, and its weight recipes change nothing.
- `set_shapes`: static shapes for a model with dynamic input sizes, every tensor's shape taken
  from the interpreter after resizing the inputs.
"""

from __future__ import annotations

import re

import numpy as np

from ..runtime.tflite_file import flatbuffer_schema

SIGNATURE_KEY = "serving_default"


def _text(value) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value or "")


def _signature_name(name: str, index: int, taken: set[str], kind: str) -> str:
    """A tensor name as a signature key: 'serving_default_image:0' -> 'image'."""
    name = re.sub(r":\d+$", "", name).split(";")[0]
    name = re.sub(r"^serving_default_", "", name)
    name = re.sub(r"[^A-Za-z0-9_.\-/]", "_", name) or f"{kind}_{index}"
    unique, n = name, 1
    while unique in taken:
        unique, n = f"{name}_{n}", n + 1
    taken.add(unique)
    return unique


def add_signature(model) -> bool:
    """Give a model without SignatureDefs one over subgraph 0; False if it had one."""
    if model.signatureDefs:
        return False
    schema = flatbuffer_schema()
    graph = model.subgraphs[0]
    maps = []
    for kind, indices in (("input", graph.inputs), ("output", graph.outputs)):
        taken: set[str] = set()
        entries = []
        for i, index in enumerate(indices):
            entry = schema.TensorMapT()
            entry.name = _signature_name(_text(graph.tensors[index].name), i, taken, kind)
            entry.tensorIndex = int(index)
            entries.append(entry)
        maps.append(entries)
    signature = schema.SignatureDefT()
    signature.inputs, signature.outputs = maps
    signature.signatureKey, signature.subgraphIndex = SIGNATURE_KEY, 0
    model.signatureDefs = [signature]
    return True


def opcode_name(model, op) -> str:
    """The builtin op name of `op` ('CONV_2D', 'CUSTOM', ...)."""
    schema = flatbuffer_schema()
    code = model.operatorCodes[op.opcodeIndex]
    value = max(int(code.builtinCode), int(code.deprecatedBuiltinCode))
    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    return names.get(value, f"op_{value}")


def normalize_opcodes(model) -> int:
    """Write each op code in `builtin_code` (files from older converters keep codes below 127
    in `deprecated_builtin_code` only and leave 0, ADD, in the new field, so that a reader of
    the new field alone sees every op as an ADD); returns how many were rewritten."""
    changed = 0
    for code in model.operatorCodes or []:
        value = max(int(code.builtinCode), int(code.deprecatedBuiltinCode))
        if code.builtinCode != value:
            code.builtinCode, changed = value, changed + 1
        code.deprecatedBuiltinCode = min(value, 127)
    return changed


def widen_float16(model) -> int:
    """Replace DEQUANTIZE(float16 constant) by a float32 constant; returns how many."""
    schema = flatbuffer_schema()
    folded = 0
    for graph in model.subgraphs or []:
        kept = []
        for op in graph.operators or []:
            source = graph.tensors[op.inputs[0]] if op.inputs is not None and len(op.inputs) else None
            buffer = model.buffers[source.buffer] if source is not None and source.buffer else None
            if (opcode_name(model, op) == "DEQUANTIZE" and source.type == schema.TensorType.FLOAT16
                    and buffer is not None and buffer.data is not None and len(buffer.data)):
                values = np.frombuffer(np.asarray(buffer.data, np.uint8).tobytes(), np.float16)
                target = graph.tensors[op.outputs[0]]
                model.buffers.append(schema.BufferT(data=np.frombuffer(values.astype("<f4").tobytes(), np.uint8)))
                target.buffer, target.type = len(model.buffers) - 1, schema.TensorType.FLOAT32
                folded += 1
            else:
                kept.append(op)
        graph.operators = kept
    if folded:
        drop_unused(model)
    return folded


def drop_unused(model) -> None:
    """Remove tensors of subgraph 0 no op, input, output or signature refers to (and empty
    their buffers), renumbering the references."""
    graph = model.subgraphs[0]
    used = {int(t) for op in graph.operators or [] for t in list(op.inputs) + list(op.outputs) if t >= 0}
    used |= {int(t) for t in list(graph.inputs) + list(graph.outputs)}
    for signature in model.signatureDefs or []:
        if signature.subgraphIndex == 0:
            used |= {int(m.tensorIndex) for m in list(signature.inputs or []) + list(signature.outputs or [])}
    new = {old: i for i, old in enumerate(sorted(used))}
    for index, tensor in enumerate(graph.tensors):
        if index not in new and tensor.buffer and model.buffers[tensor.buffer] is not None:
            model.buffers[tensor.buffer].data = None
    graph.tensors = [graph.tensors[old] for old in sorted(used)]

    def renumber(indices):
        return None if indices is None else [new[int(t)] if t >= 0 else int(t) for t in indices]

    for op in graph.operators or []:
        op.inputs, op.outputs = renumber(op.inputs), renumber(op.outputs)
        if op.intermediates is not None and len(op.intermediates):
            op.intermediates = [new[int(t)] for t in op.intermediates if int(t) in new]
    graph.inputs, graph.outputs = renumber(graph.inputs), renumber(graph.outputs)
    for signature in model.signatureDefs or []:
        if signature.subgraphIndex == 0:
            for entry in list(signature.inputs or []) + list(signature.outputs or []):
                entry.tensorIndex = new[int(entry.tensorIndex)]


def set_shapes(model, shapes: dict[int, tuple[int, ...]]) -> None:
    """Store `shapes` ({tensor index: shape} of subgraph 0, from an allocated interpreter) as
    each tensor's static shape and signature."""
    graph = model.subgraphs[0]
    for index, shape in shapes.items():
        tensor = graph.tensors[index]
        if tensor.buffer and model.buffers[tensor.buffer] is not None and model.buffers[tensor.buffer].data is not None:
            continue  # constants keep their stored shape
        tensor.shape = np.asarray(shape, np.int32)
        tensor.shapeSignature = None
