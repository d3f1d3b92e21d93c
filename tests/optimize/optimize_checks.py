"""Re-checking an `edgekit optimize --json` answer from its numbers alone (not from the
statuses edgekit wrote): the pick meets every budget and is the best on the objective among
the timed candidates that do; every 'meets' meets, every 'rejected' misses."""

from __future__ import annotations


def meets(c: dict, b: dict) -> bool:
    """Whether candidate `c` (JSON) is within every budget `b` (JSON)."""
    if b["max_drop"] is not None:
        if c["accuracy"] is None or c["reference_accuracy"] is None:
            return False
        if (c["reference_accuracy"] - c["accuracy"]) * 100 > b["max_drop"] + 1e-9:
            return False
    if b["min_agreement"] is not None and (c["top1_agreement"] is None or c["top1_agreement"] < b["min_agreement"]):
        return False
    checks = (("max_latency_ms", "latency_ms"), ("max_size_bytes", "size_bytes"), ("max_memory_mib", "memory_mib"))
    for limit, key in checks:
        if b[limit] is not None and (c[key] is None or c[key] > b[limit]):
            return False
    return True


def objective(c: dict, b: dict) -> float:
    if b["objective"] == "size":
        return c["size_bytes"]
    if b["objective"] == "accuracy":
        return -(c["accuracy"] if c["accuracy"] is not None else c["top1_agreement"])
    return c["latency_ms"]


def assert_pick_is_right(data: dict) -> dict:
    """The checks above on a whole answer; returns the pick."""
    assert data["schema"] == "edgekit.optimize/1"
    b, candidates = data["budgets"], data["candidates"]
    for c in candidates:
        if c["status"] in ("picked", "meets"):
            assert c["timed"] and meets(c, b), c
        if c["status"] == "rejected":
            assert not meets(c, b) and c["missed"] and c["reasons"], c
    pick = next(c for c in candidates if c["id"] == data["pick"])
    assert pick["status"] == "picked" and pick["timed"] and meets(pick, b)
    qualifying = [c for c in candidates if c["timed"] and meets(c, b)]
    assert objective(pick, b) == min(objective(c, b) for c in qualifying)
    assert [c["id"] for c in candidates if c["status"] == "picked"] == [pick["id"]]
    return pick
