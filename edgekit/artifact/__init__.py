"""The contract between host and device: the artifact's manifest and the benchmark result.

Both sides import this package and nothing else of each other. Everything here is frozen
dataclasses with `to_json()` / `from_json()`; JSON exists only at the edges (files, `--json`,
the SSH protocol), and JSON from outside is validated once, where it enters, by
`from_json` (a `SchemaError`, exit code 3, names the first field that is wrong).
No TensorFlow, no interpreter: standard library only (the codec and records).

    from edgekit.artifact import Manifest, BenchResult
    manifest = Manifest.loads(path.read_text())      # validated, typed
    manifest.verification.accuracy                   # a float or None, never a string
"""

from .bench import (
    BENCH_SCHEMA,
    FLEET_SCHEMA,
    BenchConfig,
    BenchResult,
    DeviceInfo,
    ErrorInfo,
    FleetEntry,
    FleetResult,
    LatencyStats,
    ModelResult,
    ReferenceInfo,
    SystemFacts,
    Timing,
    TimingSettings,
    Verdict,
    VsFirst,
)
from .codec import SchemaError, dumps, from_json, loads, to_json
from .manifest import (
    METADATA_NAME,
    SCHEMA as MANIFEST_SCHEMA,
    ArtifactFile,
    EvaluationInfo,
    Manifest,
    SizeInfo,
    SourceInfo,
    Verification,
    embed,
    package_versions,
    read_embedded,
    read_sidecar,
    sidecar_path,
    write_artifact,
)
from .records import Comparison, DataSummary, InputRecord, Preprocessing, RecipeRecord, TensorSpec

__all__ = [
    "ArtifactFile", "BENCH_SCHEMA", "BenchConfig", "BenchResult", "Comparison", "DataSummary",
    "DeviceInfo", "ErrorInfo", "EvaluationInfo", "FLEET_SCHEMA", "FleetEntry", "FleetResult",
    "InputRecord", "LatencyStats", "MANIFEST_SCHEMA", "METADATA_NAME", "Manifest", "ModelResult",
    "Preprocessing", "RecipeRecord", "ReferenceInfo", "SchemaError", "SizeInfo", "SourceInfo",
    "SystemFacts", "TensorSpec", "Timing", "TimingSettings", "Verdict", "Verification", "VsFirst",
    "dumps", "embed", "from_json", "loads", "package_versions", "read_embedded", "read_sidecar",
    "sidecar_path", "to_json", "write_artifact",
]
