"""Predict, from the .tflite flatbuffer alone, which ops the Edge TPU compiler will map.

No compiler and no TensorFlow: the file is read with `edgekit.runtime.describe`, and each op
in execution order is judged against Coral's published requirements (see `ops.py`):

1. the model is fully 8-bit quantized (float I/O costs a QUANTIZE/DEQUANTIZE on the CPU at
   each edge; a float model is rejected: "Model not quantized");
2. tensor sizes are static (else: "... only supports static-sized tensors ...");
3. parameters (weights, biases) are constants;
4. a tensor has at most 3 dimensions larger than 1 (the 3 innermost);
5. the op is in Coral's table, meets its known limitations, and its version is one the
   last compiler (16.0) can read;
6. without -a (`multiple_subgraphs`), the first op that cannot be mapped ends the one Edge TPU
   subgraph: it and everything after it run on the CPU.

It also estimates the parameter memory of the mapped ops against the ~8 MiB on-chip memory,
and ends with a verdict (fraction of ops and of multiply-accumulates on the TPU) and the
fixes for each blocker. The compiler's own log has the last word (see `compiler.py`).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..errors import BadInputError, BoundError, EdgekitError, UsageError
from ..report.format import fmt_bytes as format_bytes
from ..runtime.tflite_file import ModelInfo, describe, flatbuffer_schema, read_tflite_file
from . import ops as table
from .limits import FIX_BATCH

SCHEMA = "edgekit.edgetpu-check/1"
TPU, CPU = "Edge TPU", "CPU"

# Per-op statuses as edgetpu_compiler prints them in its "-s" table (seen in real logs).
MAPPED = "Mapped to Edge TPU"
STATUS_UNSUPPORTED = "Operation not supported"
STATUS_DTYPE = "Operation is working on an unsupported data type"
STATUS_RANK = "Tensor has unsupported rank (up to 3 innermost dimensions mapped)"
STATUS_VERSION = "Operation version not supported"
STATUS_AFTER = "More than one subgraph is not supported"
STATUS_PARAM = "Filter, bias, or other param is not constant at compile-time"
STATUS_LIMITATION = "Operation is otherwise supported, but not mapped due to some unspecified limitation"

# Model-level stops, in the compiler's words.
FAIL_NOT_QUANTIZED = "Model not quantized"
FAIL_DYNAMIC = (
    "Attempting to use a delegate that only supports static-sized tensors with a graph that "
    "has dynamic-sized tensors"
)

EIGHT_BIT = frozenset({"int8", "uint8"})
CONSTANT_OK = frozenset({"int8", "uint8", "int32"})  # weights 8-bit; biases and axes int32
FIX_INT8 = "convert with --int8 --calib DATA (full-integer quantization, no float fallback)"
FIX_IO = "convert with --int8 --io int8 (or --io uint8) so inputs and outputs stay integer"


def fix_segments(segments: int) -> str:
    return (
        f"compile with --segments {segments} to pipeline the model over {segments} Edge TPUs "
        "(~8 MiB of parameters each), or make the model smaller (fewer or narrower layers)"
    )


@dataclass(frozen=True)
class OpPrediction:
    """Where one op is predicted to run, and why."""

    index: int
    name: str
    version: int
    where: str  # "Edge TPU" or "CPU"
    reason: str
    status: str  # the status edgetpu_compiler -s is expected to print for it
    fix: str | None = None
    macs: int = 0
    param_bytes: int = 0
    edge: bool = False  # a QUANTIZE/DEQUANTIZE of float I/O at the model's edge
    note: str | None = None  # a caveat for an op predicted on the TPU

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Blocker:
    """One reason ops leave the TPU (or the compile stops), with the fix."""

    kind: str
    message: str
    fix: str
    ops: tuple = ()

    def to_dict(self) -> dict:
        return {**asdict(self), "ops": list(self.ops)}


@dataclass(frozen=True)
class CheckResult:
    source: str
    compiles: bool  # False: the compiler is predicted to stop without an output
    failure: str | None
    ops: tuple
    tpu_ops: int
    cpu_ops: int
    mapped_fraction: float
    total_macs: int
    tpu_macs: int
    mac_fraction: float | None
    tpu_subgraphs: int
    param_bytes: int
    tpu_param_bytes: int
    on_chip_bytes: int
    streamed_bytes: int
    multiple_subgraphs: bool
    verdict: str
    compiled_subgraphs: int = 0  # edgetpu-custom-op ops: the file is already compiled
    blockers: tuple = ()
    fixes: tuple = ()
    warnings: tuple = field(default_factory=tuple)

    def to_json(self) -> dict:
        data = {"schema": SCHEMA, **asdict(self)}
        data["ops"] = [op.to_dict() for op in self.ops]
        data["blockers"] = [b.to_dict() for b in self.blockers]
        data["fixes"] = list(self.fixes)
        data["warnings"] = list(self.warnings)
        return data

    def predicted_counts(self) -> dict:
        """{op name: (ops predicted on the TPU, ops predicted on the CPU)}."""
        counts: dict[str, list[int]] = {}
        for op in self.ops:
            pair = counts.setdefault(op.name, [0, 0])
            pair[0 if op.where == TPU else 1] += 1
        return {name: (tpu, cpu) for name, (tpu, cpu) in counts.items()}


# ---------------------------------------------------------------------------------------


def _read(model) -> tuple[bytes, str]:
    if isinstance(model, (bytes, bytearray, memoryview)):
        return bytes(model), "the model"
    return read_tflite_file(Path(model)), str(model)


def _builtin_codes() -> dict[str, int]:
    return {k: v for k, v in vars(flatbuffer_schema().BuiltinOperator).items() if not k.startswith("_")}


def _activations(op, info: ModelInfo) -> list:
    """The op's non-constant input and output tensors."""
    return [info.tensors[t] for t in op.inputs + op.outputs if t >= 0 and not info.tensors[t].is_constant]


def _macs(op, info: ModelInfo) -> int:
    """Multiply-accumulates of the op at the stored (static) shapes."""
    def shape(position, outputs=False):
        indices = op.outputs if outputs else op.inputs
        if position >= len(indices) or indices[position] < 0:
            return ()
        return info.tensors[indices[position]].shape

    out = math.prod(shape(0, outputs=True) or (0,))
    weights = shape(1)
    if op.name == "CONV_2D" and len(weights) == 4:
        return out * weights[1] * weights[2] * weights[3]
    if op.name == "DEPTHWISE_CONV_2D" and len(weights) == 4:
        return out * weights[1] * weights[2]
    if op.name == "FULLY_CONNECTED" and len(weights) == 2:
        return out * weights[1]
    if op.name == "TRANSPOSE_CONV" and len(weights) == 4:
        return math.prod(shape(2) or (0,)) * weights[0] * weights[1] * weights[2]
    if op.name == "BATCH_MATMUL" and shape(0):
        return out * shape(0)[-1]
    return 0


def _constant_inputs(op, info: ModelInfo) -> dict[int, int]:
    """{buffer index: bytes} of the op's constant inputs (shared buffers count once)."""
    found = {}
    for t in op.inputs:
        if t >= 0 and info.tensors[t].is_constant:
            found[info.tensors[t].buffer] = info.tensors[t].constant_bytes
    return found


def _limitation(op, info: ModelInfo, data: bytes) -> tuple[str, str] | None:
    """(reason, fix) when the op breaks one of Coral's known limitations for it (the check
    attached to its row of the table, `ops.SUPPORTED`)."""
    row = table.SUPPORTED.get(op.name)
    return None if row is None or row.check is None else row.check(op, info, data)


def _dtype_problem(op, info: ModelInfo) -> tuple[str, str] | None:
    for t in _activations(op, info):
        if t.dtype not in EIGHT_BIT:
            fix = "use the int8 recipe (int16x8 activations are 16-bit)" if t.dtype == "int16" else FIX_INT8
            return f"works on a {t.dtype} tensor ({t.name or t.index}); the Edge TPU computes on 8-bit integers only", fix
    for t in op.inputs:
        tensor = info.tensors[t] if t >= 0 else None
        if tensor is not None and tensor.is_constant and tensor.dtype not in CONSTANT_OK:
            return f"has a {tensor.dtype} constant ({tensor.name or tensor.index}); parameters must be 8-bit", FIX_INT8
    return None


_PARAM_INPUTS = {"CONV_2D": (1, 2), "DEPTHWISE_CONV_2D": (1, 2), "FULLY_CONNECTED": (1, 2),
                 "TRANSPOSE_CONV": (1, 3), "PRELU": (1,)}


def _param_problem(op, info: ModelInfo) -> str | None:
    for position in _PARAM_INPUTS.get(op.name, ()):
        if position < len(op.inputs) and op.inputs[position] >= 0:
            tensor = info.tensors[op.inputs[position]]
            if not tensor.is_constant:
                return f"{op.name} parameter {tensor.name or tensor.index} is computed at run time, not a constant"
    return None


def _rank_problem(op, info: ModelInfo) -> tuple[str, str] | None:
    for t in _activations(op, info):
        if len(t.shape) > 3 and any(d > 1 for d in t.shape[:-3]):
            fix = FIX_BATCH if t.shape[0] > 1 else "reshape so that at most the 3 innermost dimensions are larger than 1"
            return f"tensor {t.name or t.index} {list(t.shape)} has more than 3 dimensions larger than 1", fix
    return None


def _is_compiled(op) -> bool:
    """An Edge TPU subgraph that edgetpu_compiler already made (a compiled model)."""
    return op.name == "CUSTOM" and op.custom_code == "edgetpu-custom-op"


def _is_model_input(info: ModelInfo, tensor_index: int) -> bool:
    return any(t.index == tensor_index for t in info.inputs)


def _is_model_output(info: ModelInfo, tensor_index: int) -> bool:
    return any(t.index == tensor_index for t in info.outputs)


def _edge_op(op, info: ModelInfo) -> str | None:
    """The reason text when the op converts float I/O at the model's edge."""
    if not op.inputs or not op.outputs or op.inputs[0] < 0:
        return None
    source, result = info.tensors[op.inputs[0]], info.tensors[op.outputs[0]]
    if op.name == "QUANTIZE" and source.dtype == "float32" and _is_model_input(info, source.index):
        return "QUANTIZE of a float model input: float I/O runs on the CPU at the model's edge"
    if op.name == "DEQUANTIZE" and result.dtype == "float32" and _is_model_output(info, result.index):
        return "DEQUANTIZE to a float model output: float I/O runs on the CPU at the model's edge"
    return None


def _intrinsic(op, info: ModelInfo, data: bytes) -> tuple[str, str, str] | None:
    """(status, reason, fix) when the op cannot be mapped wherever it sits; None if it can."""
    if _is_compiled(op):
        return None
    edge = _edge_op(op, info)
    if edge:
        status = STATUS_LIMITATION if op.name == "QUANTIZE" else STATUS_DTYPE
        return status, edge, FIX_IO
    if op.name not in table.SUPPORTED:
        what = f"custom op {op.custom_code!r}" if op.name == "CUSTOM" else op.name
        return STATUS_UNSUPPORTED, f"{what} is not in Coral's supported-operations table", table.replacement_for(op.name)
    problem = _dtype_problem(op, info)
    if problem:
        return (STATUS_DTYPE, *problem)
    param = _param_problem(op, info)
    if param:
        return STATUS_PARAM, param, "make weights and biases constants of the model (not computed from inputs)"
    problem = _rank_problem(op, info)
    if problem:
        return (STATUS_RANK, *problem)
    problem = _limitation(op, info, data)
    if problem:
        return (STATUS_LIMITATION, *problem)
    return None


def _model_failure(info: ModelInfo) -> tuple[str, Blocker] | None:
    """Why the compiler would stop without an output, as (compiler message, blocker)."""
    quantized = any(t.dtype in EIGHT_BIT and not t.is_constant for t in info.tensors)
    if not quantized:
        return FAIL_NOT_QUANTIZED, Blocker(
            "not-quantized",
            "the model is not quantized (its activations are float); edgetpu_compiler rejects "
            f"it with \"{FAIL_NOT_QUANTIZED}\"",
            FIX_INT8,
        )
    if info.dynamic_shapes:
        dynamic = [t.name or str(t.index) for t in info.inputs if -1 in t.shape_signature]
        where = f" (inputs: {', '.join(dynamic)})" if dynamic else ""
        return FAIL_DYNAMIC, Blocker(
            "dynamic-shape",
            f"the model has dynamic tensor sizes{where}; edgetpu_compiler stops with "
            f"\"{FAIL_DYNAMIC}\"",
            FIX_BATCH,
        )
    codes = _builtin_codes()
    for op in info.ops:
        code = codes.get(op.name, 0)
        newest = table.MAX_VERSION.get(op.name)
        if code > table.LAST_KNOWN_BUILTIN_CODE or (newest is not None and op.version > newest):
            failure = f"Didn't find op for builtin opcode '{op.name}' version '{op.version}'"
            if code > table.LAST_KNOWN_BUILTIN_CODE:
                what = f"{op.name} (op {op.index}) is a TFLite op added after"
            else:
                what = f"{op.name} version {op.version} (op {op.index}) is newer than the versions (<= {newest}) known to"
            fix = table.replacement_for(op.name) if op.name not in table.SUPPORTED else (
                f"change the layer behind {op.name} so that the converter writes version {newest} or older"
            )
            return failure, Blocker(
                "op-version",
                f"{what} edgetpu_compiler {table.LAST_COMPILER} (2021, TFLite ~{table.LAST_KNOWN_TFLITE}); "
                f"the compiler is predicted to stop with \"{failure}\"",
                fix, (op.index,),
            )
    return None


def _note(op) -> str | None:
    row = table.SUPPORTED.get(op.name)
    return f"Coral: {row.limitation}" if row is not None and row.note else None


def check_min_mapped(min_mapped: float | None) -> None:
    if min_mapped is not None and not 0.0 <= min_mapped <= 1.0:
        raise UsageError(f"`min_mapped` takes a fraction between 0 and 1; received {min_mapped}")


def mapped_error(check: CheckResult, min_mapped: float | None) -> EdgekitError | None:
    """The error a check ends with: a compile predicted to fail (exit 3: the model, as it is,
    cannot be compiled), or fewer ops than `min_mapped` (a fraction) on the Edge TPU (exit 5)."""
    check_min_mapped(min_mapped)
    if check.failure is not None:
        fix = f"; {check.fixes[0]}" if check.fixes else ""
        return BadInputError(f"{check.source}: the Edge TPU compile is predicted to fail: {check.failure}{fix}")
    if min_mapped is None or check.mapped_fraction >= min_mapped:
        return None
    return BoundError(
        f"{check.tpu_ops} of {len(check.ops)} ops ({check.mapped_fraction:.0%}) are predicted on the Edge TPU, "
        f"below `min_mapped` {min_mapped:g}; apply the fixes listed above"
    )


def check_edgetpu(model, *, multiple_subgraphs: bool = False, source: str | None = None) -> CheckResult:
    """Predict which ops of a .tflite (path or bytes) edgetpu_compiler maps to the Edge TPU.

    `multiple_subgraphs` mirrors the compiler's -a (--enable_multiple_subgraphs): every
    mappable op goes to the TPU, in as many Edge TPU subgraphs as needed. `source` names
    the model in messages (default: the path).
    """
    data, default_source = _read(model)
    source = source or default_source
    info = describe(data, source)
    macs = [_macs(op, info) for op in info.ops]
    params = [_constant_inputs(op, info) for op in info.ops]
    stop = _model_failure(info)
    if stop is not None:
        failure, blocker = stop
        predictions = tuple(
            OpPrediction(op.index, op.name, op.version, CPU, f"the compile stops: {failure}",
                         "", blocker.fix, macs[i], sum(params[i].values()))
            for i, op in enumerate(info.ops)
        )
        return _result(source, info, predictions, params, failure, [blocker], multiple_subgraphs)

    predictions, split_at = [], None
    for i, op in enumerate(info.ops):
        problem = _intrinsic(op, info, data)
        edge = _edge_op(op, info) is not None
        common = dict(index=op.index, name=op.name, version=op.version, macs=macs[i],
                      param_bytes=sum(params[i].values()), edge=edge)
        if problem is not None:
            status, reason, fix = problem
            predictions.append(OpPrediction(where=CPU, reason=reason, status=status, fix=fix, **common))
            if not edge and split_at is None and not multiple_subgraphs:
                split_at = op.index  # Coral: "that operation and everything after it" on the CPU
            continue
        if split_at is not None:
            first = info.ops[split_at]
            predictions.append(OpPrediction(
                where=CPU, status=STATUS_AFTER,
                reason=f"after op {first.index} ({first.name}), which cannot be mapped: the "
                       "compiler makes one Edge TPU subgraph only (without -a)",
                fix=None, **common))
            continue
        reason = "an Edge TPU subgraph compiled earlier" if _is_compiled(op) else "meets Coral's requirements"
        predictions.append(OpPrediction(where=TPU, reason=reason, status=MAPPED, note=_note(op), **common))
    blockers = _blockers(predictions, split_at)
    return _result(source, info, tuple(predictions), params, None, blockers, multiple_subgraphs)


def _blockers(predictions: list[OpPrediction], split_at: int | None) -> list[Blocker]:
    """Group the CPU ops by cause and fix; the op that splits the graph says how many follow."""
    edges = [p for p in predictions if p.edge]
    found = []
    if edges:
        names = ", ".join(f"{p.name} (op {p.index})" for p in edges)
        found.append(Blocker("float-io", f"float inputs/outputs: {names} run on the CPU at the model's edges", FIX_IO,
                             tuple(p.index for p in edges)))
    after = tuple(p.index for p in predictions if p.status == STATUS_AFTER)
    kinds = {STATUS_UNSUPPORTED: "unsupported-op", STATUS_DTYPE: "not-8-bit", STATUS_PARAM: "non-constant-param",
             STATUS_RANK: "rank", STATUS_LIMITATION: "limitation"}
    groups: dict[tuple, list[OpPrediction]] = {}
    for p in predictions:
        if p.where == CPU and not p.edge and p.status != STATUS_AFTER:
            groups.setdefault((kinds.get(p.status, "other"), p.fix or ""), []).append(p)
    for (kind, fix), members in groups.items():
        first = members[0]
        if len(members) == 1:
            message = f"op {first.index} ({first.name}): {first.reason}"
        else:
            names = ", ".join(dict.fromkeys(m.name for m in members))
            message = f"{len(members)} ops ({names}), e.g. op {first.index} ({first.name}): {first.reason}"
        ops = tuple(m.index for m in members)
        if split_at in ops and after:
            message += (f"; op {split_at} ends the Edge TPU subgraph: the {len(after)} ops after it "
                        "run on the CPU too (one Edge TPU subgraph without -a)")
            ops += after
        found.append(Blocker(kind, message, fix, ops))
    return found


def _result(source, info, predictions, params, failure, blockers, multiple_subgraphs) -> CheckResult:
    tpu = [p for p in predictions if p.where == TPU]
    n = len(predictions)
    total_macs = sum(p.macs for p in predictions)
    tpu_macs = sum(p.macs for p in tpu)
    tpu_buffers: dict[int, int] = {}
    for p in tpu:
        tpu_buffers.update(params[p.index])
    tpu_param_bytes = sum(tpu_buffers.values())
    streamed = max(0, tpu_param_bytes - table.ON_CHIP_BYTES)
    warnings, blockers = [], list(blockers)
    if streamed:
        segments = math.ceil(tpu_param_bytes / table.ON_CHIP_BYTES)
        blockers.append(Blocker(
            "memory",
            f"the mapped ops have {format_bytes(tpu_param_bytes)} of parameters, more than the ~8 MiB of "
            f"on-chip memory: about {format_bytes(streamed)} will stream from host memory on every inference",
            fix_segments(segments),
        ))
    for p in tpu:
        if p.note:
            warnings.append(f"op {p.index} ({p.name}): {p.note}")
    compiled = sum(1 for op in info.ops if _is_compiled(op))
    if compiled:
        warnings.append(f"this file is already compiled for the Edge TPU ({compiled} edgetpu-custom-op); "
                        "the other ops run on the CPU")
    subgraphs = _count_runs(predictions) if multiple_subgraphs else int(bool(tpu))
    fixes = tuple(dict.fromkeys(b.fix for b in blockers if b.fix))
    fraction = len(tpu) / n if n else 0.0
    mac_fraction = tpu_macs / total_macs if total_macs else None
    if failure:
        verdict = f"the compile is predicted to fail: {failure}"
    elif n and len(tpu) == n:
        verdict = f"all {n} ops predicted on the Edge TPU"
    elif not tpu:
        verdict = f"no op predicted on the Edge TPU (0 of {n})"
    else:
        macs_text = f" and {mac_fraction:.0%} of the MACs" if mac_fraction is not None else ""
        verdict = f"{len(tpu)} of {n} ops ({fraction:.0%}){macs_text} predicted on the Edge TPU"
    return CheckResult(
        source=source, compiles=failure is None, failure=failure, ops=tuple(predictions),
        tpu_ops=len(tpu), cpu_ops=n - len(tpu), mapped_fraction=fraction, total_macs=total_macs,
        tpu_macs=tpu_macs, mac_fraction=mac_fraction, tpu_subgraphs=subgraphs,
        param_bytes=info.param_bytes, tpu_param_bytes=tpu_param_bytes,
        on_chip_bytes=table.ON_CHIP_BYTES, streamed_bytes=streamed,
        multiple_subgraphs=multiple_subgraphs, verdict=verdict, compiled_subgraphs=compiled,
        blockers=tuple(blockers),
        fixes=fixes, warnings=tuple(warnings),
    )


def _count_runs(predictions) -> int:
    runs, previous = 0, None
    for p in predictions:
        if p.where == TPU and previous != TPU:
            runs += 1
        previous = p.where
    return runs
