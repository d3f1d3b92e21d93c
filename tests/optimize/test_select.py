"""The search's decisions on given numbers (no TensorFlow, no timing): budgets with units,
judging, the Pareto front, the pick per objective, the closest per budget, dominance and the
mapping of a sweep's results back to its runs."""

from __future__ import annotations

import pytest

from edgekit.bench.sweep import Run, Sweep, assign_runs, dominates, find_dominated
from edgekit.errors import UsageError
from edgekit.optimize import Candidate, choose, make_budgets, parse_duration, parse_latency, parse_size


def cand(id, threads=4, latency=10.0, size=100_000, accuracy=0.95, memory=20.0, **kw):
    """A timed candidate of artifact `id` at `threads` (float accuracy 0.96)."""
    return Candidate(id=f"{id}@{threads}t", artifact=id, label=id, recipe=id, threads=threads, xnnpack=True,
                     size_bytes=size, accuracy=accuracy, reference_accuracy=0.96, top1_agreement=0.99,
                     latency_ms=latency, p50_ms=latency * 0.9, memory_mib=memory, timed=True, **kw)


@pytest.mark.parametrize("text, ms", [("20ms", 20.0), ("1.5s", 1500.0), ("800us", 0.8), ("800µs", 0.8),
                                      ("250 ns", 0.00025), ("2e1ms", 20.0)])
def test_latency_units(text, ms):
    assert parse_latency(text) == pytest.approx(ms)


@pytest.mark.parametrize("text, size", [("5MB", 5_000_000), ("512KiB", 524_288), ("300kB", 300_000),
                                        ("1.5 MiB", 1_572_864), ("900B", 900)])
def test_size_units(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("call, words", [
    (lambda: parse_latency("20"), "has no unit"),
    (lambda: parse_latency("20 parsecs"), "unknown unit 'parsecs'"),
    (lambda: parse_latency("0ms"), "more than 0"),
    (lambda: parse_size("5"), "has no unit"),
    (lambda: parse_duration("10"), "has no unit"),
    (lambda: make_budgets(latency_percentile="p99", objective="size"), "`latency_percentile` applies to"),
    (lambda: make_budgets(latency_percentile="p40"), "from 50 to 99.9"),
    (lambda: make_budgets(objective="speed"), "`objective` is one of latency, size, accuracy"),
    (lambda: make_budgets(max_drop=-1), "`max_drop` is in accuracy points"),
])
def test_bad_budgets_are_usage_errors(call, words):
    with pytest.raises(UsageError, match=words.replace("(", r"\(")):
        call()


def test_budgets_are_echoed_in_the_units_people_read():
    b = make_budgets(max_drop=1, max_latency="20ms", max_size="5MB", max_memory="64MiB", latency_percentile="p99")
    assert b.describe() == ["accuracy drop <= 1 pt", "p99 latency <= 20 ms", "size <= 5 MB (5,000,000 bytes)",
                            "memory <= 64 MiB"]
    assert b.max_latency_ms == 20 and b.max_memory_mib == 64 and b.latency_percentile == 99


def test_a_latency_budget_only_some_thread_counts_meet():
    measured = [cand("int8", 1, latency=30.0), cand("int8", 2, latency=18.0), cand("int8", 4, latency=12.0)]
    choice = choose(measured, make_budgets(max_latency="20ms"))
    by_id = {c.id: c for c in choice.candidates}
    assert by_id["int8@1t"].status == "rejected" and by_id["int8@1t"].missed == ("max_latency",)
    assert by_id["int8@1t"].reasons == ("p90 30.000 ms > 20 ms",)
    assert by_id["int8@2t"].status == "meets" and choice.pick == "int8@4t"
    assert choice.reason.startswith("int8 (4 threads, XNNPACK on): the lowest p90 latency (12.000 ms) of the 2")


def test_each_objective_picks_its_best_among_those_that_meet_every_budget():
    measured = [cand("float16", latency=5.0, size=300_000, accuracy=0.96),
                cand("int8", latency=3.0, size=100_000, accuracy=0.955),
                cand("mix", latency=4.0, size=150_000, accuracy=0.958),
                cand("dynamic", latency=2.0, size=90_000, accuracy=0.90)]        # misses max_drop
    budgets = dict(max_drop=1, max_size="250KB")
    assert choose(measured, make_budgets(**budgets)).pick == "int8@4t"
    assert choose(measured, make_budgets(**budgets, objective="size")).pick == "int8@4t"
    assert choose(measured, make_budgets(**budgets, objective="accuracy")).pick == "mix@4t"
    choice = choose(measured, make_budgets(**budgets))
    by_id = {c.id: c for c in choice.candidates}
    assert by_id["float16@4t"].missed == ("max_size",) and by_id["dynamic@4t"].missed == ("max_drop",)
    assert by_id["dynamic@4t"].reasons == ("accuracy drop 6.00 pt > 1 pt",)
    # the front: nothing beats dynamic on latency or size, float16 on accuracy; mix and int8 trade
    assert set(choice.front) == {"float16@4t", "int8@4t", "mix@4t", "dynamic@4t"}


def test_the_front_drops_what_is_dominated():
    measured = [cand("a", latency=2.0, size=100, accuracy=0.95), cand("b", latency=3.0, size=100, accuracy=0.95),
                cand("c", latency=1.0, size=200, accuracy=0.95)]
    assert set(choose(measured, make_budgets()).front) == {"a@4t", "c@4t"}


def test_when_nothing_meets_the_closest_per_budget_is_named():
    measured = [cand("int8", latency=12.0, size=100_000), cand("float32", latency=8.0, size=400_000)]
    choice = choose(measured, make_budgets(max_latency="10ms", max_size="200KB"))
    assert choice.pick is None
    closest = {c.budget: c for c in choice.closest}
    assert closest["max_latency"].candidate == "int8@4t" and closest["max_latency"].meets_the_others
    assert closest["max_latency"].value == "p90 12.000 ms"
    assert closest["max_size"].candidate == "float32@4t" and closest["max_size"].meets_the_others
    assert choice.best_effort == "int8@4t"      # 20% over one budget beats 100% over the other


def test_skipped_and_untried_candidates_keep_their_reason():
    skipped = Candidate(id="f16@1t", artifact="f16", label="f16", recipe="float16", threads=1, status="skipped",
                        reasons=("dominated by int8: not measured further",))
    choice = choose([cand("int8"), skipped], make_budgets(max_latency="20ms"))
    assert {c.id: c.status for c in choice.candidates} == {"int8@4t": "picked", "f16@1t": "skipped"}


def test_dominance_needs_no_worse_everywhere_and_better_somewhere():
    assert dominates((1, 2, 3), (1, 2, 4)) and not dominates((1, 2, 3), (1, 2, 3))
    assert not dominates((1, 2, 5), (1, 3, 4))
    assert dominates((1, None, 3), (1, None, 4)) and not dominates((1, None, 3), (1, 5, 4))
    assert find_dominated([(1, 1), (2, 2), (0, 3)]) == {1: 0}
    # pruning asks a dominating model to be clearly faster: within the margin is not dominance
    assert not dominates((1, 1, 1.05, None), (1, 1, 1.10, None), (0, 0, 0.10, 0))
    assert dominates((1, 1, 1.0, None), (1, 1, 1.2, None), (0, 0, 0.10, 0))


def test_a_sweeps_results_map_back_to_its_runs_in_order():
    sweep = Sweep((Run(0, 2), Run(1, 2), Run(0, 2, False), Run(1, 2, False), Run(0, 1), Run(1, 1)), first_pass=2)

    class M:  # a ModelResult's two fields that matter here
        def __init__(self, model, threads):
            self.path, self.threads, self.name = f"m{model}", threads, f"m{model}"

    # model 1 was dominated after the first pass; the time ran out before (0, 1 thread)
    found = assign_runs(sweep, (M(0, 2), M(1, 2), M(0, 2)), lambda m: int(m.path[1]))
    assert sorted(found) == [0, 1, 2]
    with pytest.raises(UsageError, match="first pass of a sweep measures every model"):
        Sweep((Run(0, 2), Run(1, 1)), first_pass=1)


def test_the_plan_times_every_artifact_at_every_setting_and_the_edge_tpu_with_its_delegate():
    from pathlib import Path

    from edgekit.optimize.build import Built
    from edgekit.optimize.plan import make_plan

    def built(key, recipe, **kw):
        return Built(key, key, recipe, "int8", Path(f"{key}.tflite"), None, 1000, 0.95, 0.99, 0.96, **kw)

    artifacts = (built("float16", "float16"), built("int16x8", "int16x8"),
                 built("int8-edgetpu", "int8-edgetpu", delegate="edgetpu"),
                 Built("big", "big", "float32", "float32", Path("big.tflite"), None, 10**9, 0.96, 1.0, 0.96))
    plan = make_plan(artifacts, make_budgets(max_size="5MB"), (4, 2, 1), True, 90.0, None)
    runs = plan.sweep.runs
    assert [(r.model, r.threads, r.xnnpack, r.delegate) for r in runs[:3]] == \
        [(0, 4, True, None), (1, 4, True, None), (2, 4, True, "edgetpu")]       # first pass: most threads
    assert sum(1 for r in runs if r.model == 0) == 6                             # 3 thread counts x XNNPACK on/off
    assert sum(1 for r in runs if r.model == 1) == 3 and all(r.xnnpack for r in runs if r.model == 1)
    assert {r.delegate for r in runs if r.model == 2} == {"edgetpu"} and sum(r.model == 2 for r in runs) == 3
    big = next(c for c in plan.candidates if c.artifact == "big")
    assert big.threads is None and [b.key for b in plan.timed] == ["float16", "int16x8", "int8-edgetpu"]
