"""The sweep behind `edgekit optimize` on real interpreters (the checked-in .tflite fixtures:
no TensorFlow): every run of the plan measured with its own threads and XNNPACK setting,
mapped back to its run, and a time limit that stops it."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgekit_testing import FIXTURES
from edgekit.bench.sweep import Run, Sweep, assign_runs, run_sweep
from edgekit.errors import UsageError
from edgekit.runtime.timing import TimingConfig

MODELS = [FIXTURES / "float32.tflite", FIXTURES / "int8.tflite"]
QUICK = TimingConfig(runs=5, min_time=0, warmup=1, warmup_time=0)


def test_every_planned_run_is_measured_with_its_setting():
    sweep = Sweep((Run(0, 2), Run(1, 2), Run(0, 1), Run(0, 1, xnnpack=False), Run(1, 1, xnnpack=False)),
                  first_pass=2, prune=False)
    result = run_sweep(MODELS, sweep, timing=QUICK)
    runs = assign_runs(sweep, result.models, lambda m: MODELS.index(Path(m.path)))
    assert sorted(runs) == [0, 1, 2, 3, 4]
    for index, m in runs.items():
        run = sweep.runs[index]
        assert m.threads == run.threads and m.latency.runs >= 5
        if not run.xnnpack:
            assert m.xnnpack is False                  # the builtin kernels ran
    assert runs[0].memory_mib is not None              # first pass: memory measured in a process of its own


def test_a_time_limit_stops_the_sweep_between_runs():
    sweep = Sweep((Run(0, 1), Run(1, 1), Run(0, 1, xnnpack=False)), first_pass=2, prune=False, time_limit_s=0.2,
                  isolate_first=False)
    steps = []
    result = run_sweep(MODELS, sweep, timing=TimingConfig(runs=5, min_time=0.25, warmup=1, warmup_time=0),
                       on_step=steps.append)
    assert len(result.models) == 1                     # the first run took longer than the whole limit
    assert steps[-1] == "time limit reached: 2 candidate(s) left untried"


def test_a_sweep_plans_every_model_in_its_first_pass():
    with pytest.raises(UsageError, match="measures every model"):
        Sweep((Run(0, 1), Run(1, 2)), first_pass=1)
