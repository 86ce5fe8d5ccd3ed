"""Sweeps: settings and groups, compiled programs, chunks over devices, checkpoints, the
result and its figures.

Depends on ``_hp``, ``_training`` and ``_cv``. What the other wings may use is named here.
"""

from .devices import use_cpu_devices
from .keys import KEY_MODES
from .plan import PlanGroup, SweepPlan, sweep_plan
from .program import cached_programs, memory_bytes
from .result import GroupInfo, SweepDiverged, SweepResult
from .result_views import divergence_advice
from .sweep import sweep

__all__ = [
    "GroupInfo",
    "KEY_MODES",
    "PlanGroup",
    "SweepDiverged",
    "SweepPlan",
    "SweepResult",
    "cached_programs",
    "divergence_advice",
    "memory_bytes",
    "sweep",
    "sweep_plan",
    "use_cpu_devices",
]
