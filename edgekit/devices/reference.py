"""Reference results of real boards (devices/NAME/reference.json), added from real runs only.

    python -m edgekit.devices.reference add devices/raspberrypi/reference.json bench.json --notes "..."

`bench.json` is what `edgekit bench MODEL... --device NAME --json bench.json` wrote. One entry
is made per model, copied from that result (nothing is typed in by hand). A result is refused
unless it was measured on the kind of board the file is for, with the CPU governor read and
`performance`, throttling read (vcgencmd) and none seen, and not interrupted: numbers that a
reader cannot trust do not become references. (The tests' emulated Raspberry Pi has no
vcgencmd, so its numbers can never be added.)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from .._files import atomic_write_text, sha256_file
from ..errors import BadInputError, EdgekitError

FORMAT = "edgekit.reference-results/1"


def check_result(result: dict, board_word: str) -> None:
    """Refuse a bench result that is not a clean measurement on a `board_word` board."""
    system = result.get("system") or {}
    problems = []
    if result.get("schema") != "edgekit.bench/1":
        problems.append(f"schema {result.get('schema')!r} is not edgekit.bench/1 (one device's result)")
    if board_word.lower() not in str(system.get("board") or "").lower():
        problems.append(f"the board is {system.get('board')!r}, not a {board_word}")
    if set(system.get("governors") or []) != {"performance"}:
        problems.append(f"CPU governor {system.get('governors') or 'not read'}, not performance")
    if system.get("throttled") not in ("0x0", "0"):
        problems.append(f"throttling {system.get('throttled') or 'not checked (no vcgencmd)'}, not 0x0")
    if result.get("interrupted"):
        problems.append("the run was interrupted")
    if problems:
        raise BadInputError(f"not a reference measurement: {'; '.join(problems)}; fix these and measure again")


def entries(result: dict, notes: str = "") -> list[dict]:
    """One reference entry per model of a checked result."""
    system, device = result["system"], result.get("device") or {}
    found = []
    for m in result["models"]:
        path = Path(m["path"])
        if not path.is_file() or path.stat().st_size != m["size_bytes"]:
            raise BadInputError(f"{path} is not the file that was measured (missing or another size); run add where the models are")
        found.append({
            "date": result["created"], "edgekit_version": result.get("edgekit_version"),
            "board": system["board"], "os": system.get("os"), "kernel": system.get("release"),
            "machine": system.get("machine"), "python": system.get("python"),
            "runtime": (device.get("runtime") or {}).get("versions"), "backend": m["backend"], "threads": m["threads"],
            "governors": system["governors"], "throttled": system["throttled"],
            "model": m["name"], "model_sha256": sha256_file(path), "recipe": m.get("recipe"),
            "runs": m["latency"]["runs"], "p50_ms": m["p50_ms"], "p90_ms": m["p90_ms"], "p99_ms": m["p99_ms"],
            "cv": m["latency"]["cv"], "accuracy": m.get("accuracy"),
            "data": None if result.get("data") is None else {k: result["data"].get(k) for k in ("source", "n")},
            "notes": notes,
        })
    return found


def add(reference_file: Path, result_file: Path, notes: str = "") -> int:
    """Append the entries of `result_file` to `reference_file`; returns how many were added."""
    reference = json.loads(Path(reference_file).read_text(encoding="utf-8"))
    if reference.get("format") != FORMAT:
        raise BadInputError(f"{reference_file} is not an {FORMAT} file")
    result = json.loads(Path(result_file).read_text(encoding="utf-8"))
    check_result(result, reference["board_contains"])
    new = entries(result, notes)
    reference["results"].extend(new)
    atomic_write_text(reference_file, json.dumps(reference, indent=1) + "\n")
    return len(new)


def main(argv: list[str]) -> int:
    if len(argv) not in (3, 5) or argv[0] != "add" or (len(argv) == 5 and argv[3] != "--notes"):
        print("usage: python -m edgekit.devices.reference add REFERENCE.json BENCH.json [--notes TEXT]", file=sys.stderr)
        return 2
    try:
        count = add(Path(argv[1]), Path(argv[2]), argv[4] if len(argv) == 5 else "")
    except (EdgekitError, OSError, ValueError, KeyError) as exc:
        print(f"error: {getattr(exc, 'message', exc)}", file=sys.stderr)
        return 3
    print(f"added {count} entries to {argv[1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
