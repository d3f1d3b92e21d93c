"""`edgekit optimize`: the best artifact for a board under the user's budgets, measured on it.

    from edgekit.optimize import optimize
    result = optimize("model.keras", calib="calib.npz", eval="eval.npz", max_drop=1, max_latency="20ms")
    result.pick, result.reason, result.front          # candidate ids and the one-line why
    result.bound_error()                              # the exit-5 error when nothing meets the budgets

    from edgekit.optimize import choose, make_budgets
    choose(result.candidates, make_budgets(max_drop=1, max_latency="5ms"))   # re-pick, no measuring

Candidates: every post-training recipe (converted once, on the host), a selective int8 mix
when plain int8 misses the accuracy budget, qat-int8 with fine-tuning data; each artifact under
every thread count of the target and XNNPACK on/off.
"""

from .budgets import Budgets, make_budgets, parse_duration, parse_latency, parse_percentile, parse_size
from .result import SCHEMA, Candidate, Closest, DeviceNumbers, OptimizeResult, TargetInfo, Times
from .search import OPTIMIZE_TIMING, optimize
from .select import Choice, choose

__all__ = ["Budgets", "Candidate", "Choice", "Closest", "DeviceNumbers", "OPTIMIZE_TIMING", "OptimizeResult",
           "SCHEMA", "TargetInfo", "Times", "choose", "make_budgets", "optimize", "parse_duration", "parse_latency",
           "parse_percentile", "parse_size"]
