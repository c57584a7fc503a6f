"""The load a test puts on its target, read from k6's scenarios: what makes two runs the
same test for baselines and trends (beside the script, the target and the runner).

:func:`load_of` takes k6's consolidated ``scenarios`` (``k6 inspect --execution-requirements``
gives them with the command line's and environment's overrides applied, exactly as
``k6 run`` will run them) and returns a :class:`Load`: a short text for people
(``constant-vus 10 VUs 30s``) and a key that changes with any parameter of the load
(executor, VUs, rates, iterations, stages, durations, start times), not with what does not
change the load (``exec``, ``env``, ``tags``, graceful stops).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# Scenario keys that do not change how much load reaches the target, or when.
_NOT_LOAD = frozenset({"exec", "env", "tags", "gracefulStop", "gracefulRampDown", "options"})


@dataclass(frozen=True, slots=True)
class Load:
    text: str  # "constant-vus 10 VUs 30s", several scenarios joined with " + "
    key: str  # 12 hex digits of a hash over every load parameter

    def __str__(self) -> str:
        return self.text


def _present(config: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in sorted(config.items()) if k not in _NOT_LOAD and v is not None}


def _num(v: Any) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def _vus(v: Any) -> str:
    return f"{_num(v)} VU" + ("" if v == 1 else "s")


def _stages(config: Mapping[str, Any]) -> tuple[Any, str]:
    stages = config.get("stages") or []
    peak = max((s.get("target") or 0 for s in stages), default=0)
    return peak, "+".join(str(s.get("duration")) for s in stages)


def describe(config: Mapping[str, Any]) -> str:
    """One k6 scenario's load in a few words."""
    c = _present(config)
    executor = str(c.get("executor", "?"))
    rate_unit = f"/{c.get('timeUnit', '1s')}"
    if executor == "constant-vus":
        words = [_vus(c.get("vus", 1)), str(c.get("duration", ""))]
    elif executor == "ramping-vus":
        peak, durations = _stages(c)
        words = [f"{_num(c.get('startVUs', 1))}→max {_vus(peak)}", durations]
    elif executor == "shared-iterations":
        words = [f"{_num(c.get('iterations', 1))} iterations", _vus(c.get("vus", 1))]
    elif executor == "per-vu-iterations":
        words = [f"{_num(c.get('iterations', 1))} iterations × {_vus(c.get('vus', 1))}"]
    elif executor == "constant-arrival-rate":
        words = [f"{_num(c.get('rate', '?'))}{rate_unit}", str(c.get("duration", ""))]
    elif executor == "ramping-arrival-rate":
        peak, durations = _stages(c)
        words = [f"{_num(c.get('startRate', 0))}→max {_num(peak)}{rate_unit}", durations]
    elif executor == "externally-controlled":
        words = [_vus(c.get("vus", 0)), str(c.get("duration", ""))]
    else:
        words = []
    if c.get("maxDuration") and executor.endswith("iterations"):
        words.append(f"max {c['maxDuration']}")
    if c.get("startTime"):
        words.append(f"from {c['startTime']}")
    return " ".join([executor, *(w for w in words if w)])


def load_of(scenarios: Mapping[str, Mapping[str, Any]]) -> Load:
    """The load of a test from k6's scenarios (name → executor config)."""
    ordered = sorted(scenarios.items())
    text = " + ".join(describe(config) for _, config in ordered) or "no scenarios"
    canonical = json.dumps(
        [[name, _present(config)] for name, config in ordered], sort_keys=True, default=str
    )
    return Load(text, hashlib.sha256(canonical.encode()).hexdigest()[:12])


__all__ = ["Load", "describe", "load_of"]
