"""Load shapes: compile a :class:`Shape` into a k6 executor, and evaluate an executor's plan.

``compile_shape`` turns a shape into the executor part of a k6 scenario object:

    model closed  ramping-vus            {startVUs, stages}          (constant: constant-vus)
    model open    ramping-arrival-rate   {startRate, timeUnit, ...}  (constant: constant-arrival-rate)

``planned_load`` / ``plan_series`` evaluate any executor the way k6 does (linear
interpolation between stage targets; a 0 s stage is a jump), so tests can check
a compiled shape numerically, analyses know which step was active when, and
``draw_shape`` can draw the plan in a terminal.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from typing import Any

from novaload.config.models import Shape, format_duration, parse_duration

Stages = list[tuple[float, float]]  # (duration s, target)

# Spike/burst defaults when the shape leaves them open (fractions of `duration`).
_DEFAULT_RAMP_FRACTION = 0.05
_DEFAULT_HOLD_FRACTION = 0.2


# --------------------------------------------------------------------------- shapes → stages


def _dur(value: str | None, default: float) -> float:
    return default if value is None else parse_duration(value)


def _constant(shape: Shape) -> Stages:
    return [(parse_duration(shape.duration), float(shape.peak))]


def _ramp(shape: Shape) -> Stages:
    total = parse_duration(shape.duration)
    up = _dur(shape.ramp_up, total)
    down = _dur(shape.ramp_down, 0.0)
    hold = max(0.0, total - up - down)
    stages: Stages = [(up, float(shape.peak))]
    if hold:
        stages.append((hold, float(shape.peak)))
    if down:
        stages.append((down, 0.0))
    return stages


def step_levels(shape: Shape) -> list[float]:
    """Levels of a ``steps`` shape: ``start + (peak - start) * i / steps`` for i = 1..steps."""
    return [shape.start + (shape.peak - shape.start) * i / shape.steps for i in range(1, shape.steps + 1)]


def _steps(shape: Shape) -> Stages:
    each = _dur(shape.step_duration, parse_duration(shape.duration) / shape.steps)
    stages: Stages = []
    for level in step_levels(shape):
        stages += [(0.0, float(round(level))), (each, float(round(level)))]
    return stages


def _spike(shape: Shape) -> Stages:
    total = parse_duration(shape.duration)
    base = float(shape.baseline if shape.baseline is not None else shape.start)
    up = _dur(shape.ramp_up, max(1.0, round(total * _DEFAULT_RAMP_FRACTION)))
    down = _dur(shape.ramp_down, up)
    hold = _dur(shape.hold, max(1.0, round(total * _DEFAULT_HOLD_FRACTION)))
    rest = max(0.0, total - up - hold - down)
    before = math.floor(rest / 2)
    stages: Stages = [(before, base)] if before else []
    stages += [(up, float(shape.peak)), (hold, float(shape.peak)), (down, base)]
    if rest - before:
        stages.append((rest - before, base))
    return stages


def _burst(shape: Shape) -> Stages:
    """Repeated surges: every ``period`` a spike of ``hold`` at peak (instant ramps by default)."""
    total = parse_duration(shape.duration)
    base = float(shape.baseline if shape.baseline is not None else shape.start)
    period = _dur(shape.period, total / 3)
    up, down = _dur(shape.ramp_up, 0.0), _dur(shape.ramp_down, 0.0)
    hold = _dur(shape.hold, max(1.0, round(period * _DEFAULT_HOLD_FRACTION)))
    quiet = max(0.0, period - up - hold - down)
    stages: Stages = []
    elapsed = 0.0
    while elapsed + period <= total + 1e-9:
        stages += [(quiet, base), (up, float(shape.peak)), (hold, float(shape.peak)), (down, base)]
        elapsed += period
    if total - elapsed > 1e-9:
        stages.append((total - elapsed, base))
    return stages or [(total, base)]


def sine_value(shape: Shape, t: float) -> float:
    """The analytic sine shape: between ``baseline`` (or start) and ``peak``, trough at t=0."""
    low = float(shape.baseline if shape.baseline is not None else shape.start)
    period = _dur(shape.period, parse_duration(shape.duration))
    return low + (shape.peak - low) * (1 - math.cos(2 * math.pi * t / period)) / 2


def _sine(shape: Shape) -> Stages:
    total = parse_duration(shape.duration)
    res = parse_duration(shape.resolution)
    n = max(1, math.ceil(total / res))
    points = [min(total, (i + 1) * res) for i in range(n)]
    stages: Stages = []
    prev = 0.0
    for t in points:
        stages.append((t - prev, float(round(sine_value(shape, t)))))
        prev = t
    return stages


def random_levels(shape: Shape) -> list[float]:
    """Seeded levels of a ``random`` shape, one per ``resolution`` (reproducible)."""
    total = parse_duration(shape.duration)
    n = max(1, math.ceil(total / parse_duration(shape.resolution)))
    low = shape.baseline if shape.baseline is not None else shape.start
    rng = random.Random(shape.seed)
    return [float(rng.randint(low, shape.peak)) for _ in range(n)]


def _random(shape: Shape) -> Stages:
    total = parse_duration(shape.duration)
    res = parse_duration(shape.resolution)
    stages: Stages = []
    for i, level in enumerate(random_levels(shape)):
        stages.append((min(res, total - i * res), level))
    return stages


_BUILDERS = {
    "constant": _constant,
    "ramp": _ramp,
    "steps": _steps,
    "spike": _spike,
    "burst": _burst,
    "sine": _sine,
    "random": _random,
}


def shape_stages(shape: Shape) -> Stages:
    """The (duration s, target) stages that draw ``shape``."""
    return _BUILDERS[shape.kind](shape)


def _start_level(shape: Shape) -> int:
    if shape.kind in ("spike", "burst", "sine"):
        return shape.baseline if shape.baseline is not None else shape.start
    if shape.kind == "steps":
        return 0  # the first step jumps from 0 (a 0 s stage)
    if shape.kind == "random":
        return int(random_levels(shape)[0])
    return shape.start


def _k6_stages(stages: Stages) -> list[dict[str, Any]]:
    return [{"duration": format_duration(d), "target": int(round(v))} for d, v in stages]


def compile_shape(shape: Shape) -> dict[str, Any]:
    """The executor part of a k6 scenario object for ``shape`` (no exec/gracefulStop)."""
    total = format_duration(parse_duration(shape.duration))
    if shape.model == "closed":
        if shape.kind == "constant":
            return {"executor": "constant-vus", "vus": shape.peak, "duration": total}
        return {
            "executor": "ramping-vus",
            "startVUs": _start_level(shape),
            "stages": _k6_stages(shape_stages(shape)),
        }
    pre = shape.pre_allocated_vus or max(1, min(shape.peak, 50))
    max_vus = max(pre, shape.max_vus or max(pre, shape.peak * 2))
    if shape.kind == "constant":
        return {
            "executor": "constant-arrival-rate",
            "rate": shape.peak,
            "timeUnit": shape.time_unit,
            "duration": total,
            "preAllocatedVUs": pre,
            "maxVUs": max_vus,
        }
    return {
        "executor": "ramping-arrival-rate",
        "startRate": _start_level(shape),
        "timeUnit": shape.time_unit,
        "preAllocatedVUs": pre,
        "maxVUs": max_vus,
        "stages": _k6_stages(shape_stages(shape)),
    }


# --------------------------------------------------------------------------- executor → plan


def executor_stages(executor: Mapping[str, Any]) -> tuple[float, Stages]:
    """``(start level, [(duration s, target), ...])`` of any k6 executor, as k6 plans it.

    Constant executors become one flat stage; iteration-based executors (which
    have no time plan) become a flat stage of ``maxDuration`` (or nothing).
    """
    kind = executor.get("executor")
    if kind in ("ramping-vus", "ramping-arrival-rate"):
        start = float(executor.get("startVUs", executor.get("startRate", 0)) or 0)
        return start, [
            (parse_duration(s["duration"]), float(s["target"])) for s in executor.get("stages", [])
        ]
    if kind == "constant-vus":
        level = float(executor.get("vus", 1))
        return level, [(parse_duration(executor["duration"]), level)]
    if kind == "constant-arrival-rate":
        level = float(executor["rate"])
        return level, [(parse_duration(executor["duration"]), level)]
    level = float(executor.get("vus", 1))
    if "maxDuration" in executor:
        return level, [(parse_duration(executor["maxDuration"]), level)]
    return level, []


def plan_duration(executor: Mapping[str, Any]) -> float:
    """Planned length of the executor's load in seconds (no graceful stop)."""
    return sum(d for d, _ in executor_stages(executor)[1])


def time_unit_s(executor: Mapping[str, Any]) -> float:
    """Seconds per ``timeUnit`` of an arrival-rate executor (1.0 otherwise)."""
    return parse_duration(executor.get("timeUnit", "1s"))


def is_open_model(executor: Mapping[str, Any]) -> bool:
    return "arrival-rate" in str(executor.get("executor", ""))


def planned_load(executor: Mapping[str, Any], t: float) -> float:
    """Planned VUs (closed) or iterations per timeUnit (open) at ``t`` seconds.

    Linear between stage targets, like k6; at a 0 s stage boundary the later
    stage wins; after the plan ends the load is 0.
    """
    level, stages = executor_stages(executor)
    if t < 0:
        return 0.0
    elapsed = 0.0
    for duration, target in stages:
        end = elapsed + duration
        if t < end:
            return level + (target - level) * (t - elapsed) / duration
        elapsed, level = end, target
    return level if math.isclose(t, elapsed) and stages else 0.0


def plan_series(executor: Mapping[str, Any], step_s: float) -> list[tuple[float, float]]:
    """``[(t, planned load)]`` from 0 to the end of the plan every ``step_s`` seconds."""
    if step_s <= 0:
        raise ValueError("step_s must be > 0")
    total = plan_duration(executor)
    n = int(math.floor(total / step_s + 1e-9))
    points = [i * step_s for i in range(n + 1)]
    if not points or points[-1] < total - 1e-9:
        points.append(total)
    return [(t, planned_load(executor, t)) for t in points]


def plateaus(executor: Mapping[str, Any], min_s: float = 0.0) -> list[tuple[float, float, float]]:
    """``[(start s, end s, level)]``: the periods where the plan holds a level (steps, constant)."""
    level, stages = executor_stages(executor)
    out: list[tuple[float, float, float]] = []
    elapsed = 0.0
    for duration, target in stages:
        if duration > min_s and math.isclose(target, level):
            if out and math.isclose(out[-1][1], elapsed) and math.isclose(out[-1][2], level):
                out[-1] = (out[-1][0], elapsed + duration, level)
            else:
                out.append((elapsed, elapsed + duration, level))
        elapsed += duration
        level = target
    return out


# --------------------------------------------------------------------------- drawing


def draw_shape(
    series: Sequence[tuple[float, float]], width: int = 60, height: int = 12, unit: str = ""
) -> str:
    """A plain-text chart of ``series`` (``plan_series`` output) for a terminal."""
    if not series:
        return "(empty plan)"
    width, height = max(10, width), max(3, height)
    t_end = max(t for t, _ in series) or 1.0
    top = max(v for _, v in series) or 1.0
    columns = [0.0] * width
    for col in range(width):
        t = t_end * col / (width - 1)
        columns[col] = _interpolate(series, t)
    rows = []
    label_w = len(f"{top:g}")
    for row in range(height, 0, -1):
        line = "".join(_cell(v / top * height - (row - 1)) for v in columns)
        label = f"{top:g}" if row == height else ("0" if row == 1 else "")
        rows.append(f"{label:>{label_w}} │{line}")
    rows.append(" " * label_w + " └" + "─" * width)
    end_label = format_duration(round(t_end))
    rows.append(" " * (label_w + 2) + "0s" + end_label.rjust(width - 2))
    if unit:
        rows.append(" " * (label_w + 2) + unit)
    return "\n".join(rows)


_EIGHTHS = " ▁▂▃▄▅▆▇█"


def _cell(fill: float) -> str:
    """The block character for a cell filled ``fill`` (0..1, clipped) from below."""
    return _EIGHTHS[max(0, min(8, int(round(fill * 8))))]


def _interpolate(series: Sequence[tuple[float, float]], t: float) -> float:
    for (t0, v0), (t1, v1) in zip(series, series[1:]):
        if t0 <= t <= t1:
            return v0 if t1 == t0 else v0 + (v1 - v0) * (t - t0) / (t1 - t0)
    return series[-1][1]


__all__ = [
    "compile_shape",
    "draw_shape",
    "executor_stages",
    "is_open_model",
    "plan_duration",
    "plan_series",
    "planned_load",
    "plateaus",
    "random_levels",
    "shape_stages",
    "sine_value",
    "step_levels",
    "time_unit_s",
]
