"""Parse what edgetpu_compiler prints into structured results.

The format is the one documented on coral.ai/docs/edgetpu/compiler and seen in real logs of
compilers 2.x to 16.0 (quoted in google-coral/edgetpu issues such as #60, #324, #427, #557,
#671, #829):

    Edge TPU Compiler version 16.0.384591198
    Started a compilation timeout timer of 180 seconds.

    Model compiled successfully in 1379 ms.

    Input model: model.tflite
    Input size: 4.41MiB
    Output model: model_edgetpu.tflite
    Output size: 5.49MiB
    On-chip memory used for caching model parameters: 1.92MiB
    On-chip memory remaining for caching model parameters: 1.75KiB
    Off-chip memory used for streaming uncached model parameters: 3.23MiB
    Number of Edge TPU subgraphs: 1
    Total number of operations: 136
    Operation log: model_edgetpu.log

    Model successfully compiled but not all operations are supported by the Edge TPU. ...
    Number of operations that will run on Edge TPU: 135
    Number of operations that will run on CPU: 1

    Operator                       Count      Status

    RESHAPE                        15         Mapped to Edge TPU
    CUSTOM                         1          Operation is working on an unsupported data type
    Compilation child process completed within timeout period.
    Compilation succeeded!

With -n N there is one "Model compiled successfully" block (and table) per segment. Failures
print e.g. "Invalid model: x.tflite" + "Model not quantized", "ERROR: ..." + "Compilation
failed: ...", or "Internal compiler error. Aborting!".
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

MAPPED_STATUS = "Mapped to Edge TPU"
_UNITS = {"B": 1, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "KB": 10**3, "MB": 10**6, "GB": 10**9}
_SIZE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([KMG]i?B|B)\s*$")
_ROW = re.compile(r"^([A-Z][A-Z0-9_]*)\s+(\d+)\s+(\S.*?)\s*$")
_FIELDS = {
    "Input model": "input_model",
    "Input size": "input_size",
    "Output model": "output_model",
    "Output size": "output_size",
    "On-chip memory used for caching model parameters": "on_chip_used",
    "On-chip memory remaining for caching model parameters": "on_chip_remaining",
    "On-chip memory available for caching model parameters": "on_chip_available",
    "Off-chip memory used for streaming uncached model parameters": "off_chip_used",
    "Number of Edge TPU subgraphs": "edgetpu_subgraphs",
    "Total number of operations": "total_ops",
    "Operation log": "log_file",
    "Number of operations that will run on Edge TPU": "tpu_ops",
    "Number of operations that will run on CPU": "cpu_ops",
}
_ERROR_PREFIXES = ("ERROR:", "Error:", "Compilation failed", "Invalid model", "Internal compiler error")


def parse_size(text: str) -> int | None:
    """'6.02MiB' -> bytes (the compiler rounds to 2 decimals), None when not a size."""
    match = _SIZE.match(text)
    if not match:
        return None
    return int(round(float(match.group(1)) * _UNITS[match.group(2)]))


@dataclass(frozen=True)
class OpStatus:
    """One row of the compiler's "Operator  Count  Status" table."""

    op: str
    count: int
    status: str

    @property
    def mapped(self) -> bool:
        return self.status == MAPPED_STATUS

    def to_dict(self) -> dict:
        return {**asdict(self), "mapped": self.mapped}


@dataclass(frozen=True)
class SegmentReport:
    """One compiled model (one per segment with -n)."""

    input_model: str | None = None
    output_model: str | None = None
    compile_ms: int | None = None
    input_bytes: int | None = None
    output_bytes: int | None = None
    on_chip_used_bytes: int | None = None
    on_chip_remaining_bytes: int | None = None
    off_chip_used_bytes: int | None = None
    edgetpu_subgraphs: int | None = None
    total_ops: int | None = None
    tpu_ops: int | None = None
    cpu_ops: int | None = None
    log_file: str | None = None
    ops: tuple = ()

    def mapped_ops(self) -> int:
        return sum(row.count for row in self.ops if row.mapped)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["ops"] = [row.to_dict() for row in self.ops]
        return data


@dataclass(frozen=True)
class CompilerLog:
    version: str | None
    segments: tuple = ()
    errors: tuple = ()
    warnings: tuple = field(default_factory=tuple)
    succeeded: bool = False  # a "Model compiled successfully" block and no error line

    def op_counts(self) -> dict:
        """{op: (mapped count, not-mapped count)} summed over segments."""
        counts: dict[str, list[int]] = {}
        for segment in self.segments:
            for row in segment.ops:
                pair = counts.setdefault(row.op, [0, 0])
                pair[0 if row.mapped else 1] += row.count
        return {op: (a, b) for op, (a, b) in counts.items()}

    def statuses(self, op: str) -> list[str]:
        """The compiler's statuses (reasons) for `op` rows that were not mapped."""
        found = [row.status for s in self.segments for row in s.ops if row.op == op and not row.mapped]
        return list(dict.fromkeys(found))

    def to_dict(self) -> dict:
        return {
            "version": self.version,
            "succeeded": self.succeeded,
            "segments": [s.to_dict() for s in self.segments],
            "errors": list(self.errors),
            "warnings": list(self.warnings),
        }


def _int(text: str) -> int | None:
    text = text.strip()
    return int(text) if text.isdigit() else None


def parse_op_table(lines) -> tuple:
    """OpStatus rows from the lines after an "Operator Count Status" header."""
    rows, seen_row = [], False
    for line in lines:
        if not line.strip():
            if seen_row:
                break
            continue
        match = _ROW.match(line.strip())
        if not match:
            break
        seen_row = True
        rows.append(OpStatus(match.group(1), int(match.group(2)), match.group(3)))
    return tuple(rows)


def parse_compiler_output(text: str) -> CompilerLog:
    """Structured results from edgetpu_compiler's stdout+stderr (see the module docstring)."""
    lines = text.splitlines()
    version, errors, warnings = None, [], []
    segments: list[dict] = []
    current: dict | None = None
    for i, raw in enumerate(lines):
        line = raw.strip()
        if line.startswith("Edge TPU Compiler version"):
            version = version or line.rsplit(" ", 1)[-1]
            continue
        match = re.match(r"^Model compiled successfully in (\d+) ms\.?$", line)
        if match:
            current = {"compile_ms": int(match.group(1)), "ops": ()}
            segments.append(current)
            continue
        if re.match(r"^Operator\s+Count\s+Status$", line):
            table = parse_op_table(lines[i + 1:])
            if current is None:  # a table without a success block (e.g. a .log file)
                current = {"ops": ()}
                segments.append(current)
            current["ops"] = current["ops"] + table
            continue
        if line.startswith(_ERROR_PREFIXES):
            errors.append(line)
            if line.startswith("Invalid model") and i + 1 < len(lines) and lines[i + 1].strip():
                errors.append(lines[i + 1].strip())  # the reason follows: "Model not quantized"
            continue
        if line.startswith(("Warning:", "WARNING:")):
            warnings.append(line)
            continue
        key, sep, value = line.partition(": ")
        if sep and key in _FIELDS and current is not None:
            name = _FIELDS[key]
            if name in ("input_size", "output_size", "on_chip_used", "on_chip_remaining",
                        "on_chip_available", "off_chip_used"):
                current[name] = parse_size(value)
            elif name in ("edgetpu_subgraphs", "total_ops", "tpu_ops", "cpu_ops"):
                current[name] = _int(value)
            else:
                current[name] = value.strip()
    reports = tuple(_segment(s) for s in segments)
    succeeded = any(s.compile_ms is not None for s in reports) and not errors
    return CompilerLog(version, reports, tuple(dict.fromkeys(errors)), tuple(warnings), succeeded)


def _segment(values: dict) -> SegmentReport:
    remaining = values.get("on_chip_remaining")
    if remaining is None and values.get("on_chip_available") is not None and values.get("on_chip_used") is not None:
        remaining = values["on_chip_available"] - values["on_chip_used"]  # compiler 2.0 wording
    return SegmentReport(
        input_model=values.get("input_model"),
        output_model=values.get("output_model"),
        compile_ms=values.get("compile_ms"),
        input_bytes=values.get("input_size"),
        output_bytes=values.get("output_size"),
        on_chip_used_bytes=values.get("on_chip_used"),
        on_chip_remaining_bytes=remaining,
        off_chip_used_bytes=values.get("off_chip_used"),
        edgetpu_subgraphs=values.get("edgetpu_subgraphs"),
        total_ops=values.get("total_ops"),
        tpu_ops=values.get("tpu_ops"),
        cpu_ops=values.get("cpu_ops"),
        log_file=values.get("log_file"),
        ops=values.get("ops", ()),
    )
