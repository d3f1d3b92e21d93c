"""`edgekit inspect`: what a .tflite file holds, read from the flatbuffer (no TensorFlow)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..artifact import Manifest, to_json
from ..runtime.model import find_manifest
from ..runtime.tflite_file import ModelInfo, describe, read_tflite_file

SCHEMA = "edgekit.inspect/1"


@dataclass(frozen=True)
class InspectResult:
    file: str
    info: ModelInfo
    manifest: Manifest | None
    manifest_problem: str | None = None
    custom_ops: tuple[str, ...] = ()  # the custom_code of each CUSTOM op kind
    warnings: tuple[str, ...] = ()

    def to_json(self) -> dict:
        return {"schema": SCHEMA, "file": self.file, **self.info.to_dict(),
                "manifest": None if self.manifest is None else self.manifest.to_json(),
                "manifest_problem": self.manifest_problem, "custom_ops": list(self.custom_ops),
                "warnings": list(self.warnings)}


EDGETPU_OP = "edgetpu-custom-op"


def custom_op_warnings(custom_ops) -> tuple[str, ...]:
    """What a custom op means for running the model with edgekit.runtime."""
    warnings = []
    for code in custom_ops:
        if code == EDGETPU_OP:
            warnings.append(f"custom op {code!r}: an Edge TPU subgraph; it runs only with the Edge TPU delegate "
                            "(runtime.load(path, delegate='edgetpu') on a Coral)")
        else:
            warnings.append(f"custom op {code!r}: not a TFLite builtin; the edgekit runtime (ai-edge-litert) cannot "
                            "run it unless the op's kernel is registered; convert without it (builtin ops only)")
    return tuple(warnings)


def inspect_tflite(path: str | Path) -> InspectResult:
    """File size, ops, I/O tensors with quantization, integer-only verdict, manifest (a
    manifest that fails validation is reported in `manifest_problem`, not used)."""
    path = Path(path)
    data = read_tflite_file(path)
    info = describe(data, str(path))
    manifest, problem = find_manifest(data, path, str(path))
    custom = tuple(dict.fromkeys(op.custom_code or "?" for op in info.ops if op.name == "CUSTOM"))
    return InspectResult(str(path), info, manifest, problem, custom, custom_op_warnings(custom))


__all__ = ["InspectResult", "SCHEMA", "inspect_tflite", "to_json"]
