"""Time analyses: ``soak`` (degradation trend with a confidence interval) and
``spike`` (recovery time after a surge)."""

from __future__ import annotations

import math
import statistics

import pandas as pd

from novaload.analysis.base import (
    Analysis,
    AnalysisContext,
    clean,
    fmt,
    html_para,
    html_table,
    in_interval,
    md_table,
    windows,
)
from novaload.analysis.stats import LinearFit, ols
from novaload.results.model import RunResults
from novaload.scenario.shapes import plan_duration, plan_series, plateaus

_MIN_WINDOWS = 5


# --------------------------------------------------------------------------- soak


def _steady_windows(results: RunResults, ctx: AnalysisContext) -> pd.DataFrame:
    """Windows of the steady part: after ramp-up and warm-up, before ramp-down, never partial."""
    ts = windows(results.timeseries)
    if ts.empty:
        return ts
    w = results.window_s
    start, end = 0.0, float(ts["t"].max()) + w
    if ctx.executor is not None:
        held = plateaus(ctx.executor)
        if held:
            start, end = held[0][0], held[-1][1]
    start += ctx.param("warmup_s", 0.0)
    # The first window starts with the first sample (VUs still starting) and the last
    # is usually partial: both would bend the line.
    part = in_interval(ts, start, end, w)
    part = part[(part["t"] > float(ts["t"].min())) & (part["t"] < float(ts["t"].max()))]
    return part[(part["requests"] > 0) & part["p95"].notna()]


def soak(results: RunResults, ctx: AnalysisContext) -> Analysis:
    """OLS trend of per-window p95 and error rate; flags growth above the limits.

    Latency growth is relative to the fitted start value, in % per hour; the
    flag needs the whole 95 % interval above the limit, so noise alone does
    not flag a run. Error-rate growth is in percentage points per hour.
    """
    title = "Soak: latency and error trend"
    limit = ctx.param("degradation_limit_pct_per_hour", 5.0)
    err_limit = ctx.param("error_slope_limit_pp_per_hour", 1.0)
    confidence = ctx.param("confidence", 0.95)
    part = _steady_windows(results, ctx)
    if len(part) < _MIN_WINDOWS:
        verdict = f"not enough steady windows for a trend ({len(part)} < {_MIN_WINDOWS})"
        return Analysis(
            name="soak",
            title=title,
            verdict=verdict,
            flagged=False,
            figures={"windows": len(part)},
            markdown=verdict,
            html=html_para(verdict),
        )
    t0 = float(part["t"].iloc[0])
    hours = [(float(t) - t0) / 3600.0 for t in part["t"]]
    lat = ols(hours, [float(v) for v in part["p95"]], confidence)
    err = ols(hours, [float(v) for v in part["error_rate"]], confidence)
    base = lat.intercept
    pct = _pct(lat, base)
    err_pp = (100 * err.slope, 100 * err.slope_ci[0], 100 * err.slope_ci[1])
    lat_flag = pct is not None and pct[1] > limit
    err_flag = err_pp[1] > err_limit
    span_min = (float(part["t"].iloc[-1]) - t0) / 60.0
    if lat_flag or err_flag:
        what = []
        if pct is not None and lat_flag:
            what.append(
                f"p95 grows {pct[0]:+.1f} %/h ({confidence:.0%} CI {pct[1]:+.1f} … {pct[2]:+.1f}) "
                f"> {limit:g} %/h"
            )
        if err_flag:
            what.append(
                f"error rate grows {err_pp[0]:+.2f} pp/h (CI {err_pp[1]:+.2f} … "
                f"{err_pp[2]:+.2f}) > {err_limit:g} pp/h"
            )
        verdict = "degradation: " + "; ".join(what)
    else:
        shown = (
            "n/a" if pct is None else f"{pct[0]:+.1f} %/h ({confidence:.0%} CI {pct[1]:+.1f} … {pct[2]:+.1f})"
        )
        verdict = f"no significant degradation: p95 trend {shown}, limit {limit:g} %/h"
    header = ["series", "start value", "slope per hour", f"{confidence:.0%} CI", "relative %/h", "limit"]
    rows = [
        [
            "p95 latency (ms)",
            fmt(base),
            fmt(lat.slope),
            f"{fmt(lat.slope_ci[0])} … {fmt(lat.slope_ci[1])}",
            "n/a" if pct is None else f"{pct[0]:+.1f} ({pct[1]:+.1f} … {pct[2]:+.1f})",
            f"{limit:g} %/h",
        ],
        [
            "error rate (pp)",
            fmt(100 * err.intercept, 3),
            fmt(err_pp[0], 3),
            f"{fmt(err_pp[1], 3)} … {fmt(err_pp[2], 3)}",
            "-",
            f"{err_limit:g} pp/h",
        ],
    ]
    note = f"{lat.n} windows of {results.window_s:g} s over {span_min:.1f} min (OLS)."
    figures = {
        "windows": lat.n,
        "window_s": results.window_s,
        "span_minutes": clean(span_min, 3),
        "p95_start_ms": clean(base, 3),
        "p95_slope_ms_per_hour": clean(lat.slope, 3),
        "p95_slope_ci_ms_per_hour": [clean(v, 3) for v in lat.slope_ci],
        "p95_degradation_pct_per_hour": clean(pct[0], 3) if pct else None,
        "p95_degradation_ci_pct_per_hour": [clean(v, 3) for v in pct[1:]] if pct else None,
        "error_rate_slope_pp_per_hour": clean(err_pp[0], 5),
        "error_rate_slope_ci_pp_per_hour": [clean(err_pp[1], 5), clean(err_pp[2], 5)],
        "confidence": confidence,
        "limit_pct_per_hour": limit,
        "error_limit_pp_per_hour": err_limit,
        "latency_degraded": lat_flag,
        "errors_degraded": err_flag,
    }
    return Analysis(
        name="soak",
        title=title,
        verdict=verdict,
        flagged=lat_flag or err_flag,
        figures=figures,
        markdown=f"**{verdict}**\n\n{md_table(header, rows)}\n\n{note}",
        html=html_para(verdict) + html_table(header, rows) + html_para(note),
    )


def _pct(fit: LinearFit, base: float) -> tuple[float, float, float] | None:
    if not base > 0:
        return None
    return (100 * fit.slope / base, 100 * fit.slope_ci[0] / base, 100 * fit.slope_ci[1] / base)


# --------------------------------------------------------------------------- spike


def surge_interval(executor: dict, step_s: float = 0.1) -> tuple[float, float, float, float] | None:
    """``(start, end, baseline, peak)`` of the surge: where the plan rises above its baseline."""
    series = plan_series(executor, step_s)
    if not series:
        return None
    baseline = series[0][1]
    peak = max(v for _, v in series)
    if peak <= baseline:
        return None
    above = [t for t, v in series if v > baseline + 1e-9 and t < plan_duration(executor) - 1e-9]
    end = max(above)
    # The surge ends where the plan is back at its baseline: the next sample point.
    end = next((t for t, _ in series if t > end), end)
    return min(above) - step_s, end, baseline, peak


def spike(results: RunResults, ctx: AnalysisContext) -> Analysis:
    """Recovery time: from the end of the surge until p95 and errors are back to normal."""
    title = "Spike: recovery"
    ts = windows(results.timeseries)
    surge = surge_interval(dict(ctx.executor)) if ctx.executor is not None else None
    if surge is None or ts.empty:
        verdict = "no surge in the plan (or no data): nothing to measure"
        return Analysis(
            name="spike",
            title=title,
            verdict=verdict,
            flagged=False,
            figures={},
            markdown=verdict,
            html=html_para(verdict),
        )
    start, end, baseline, peak = surge
    w = results.window_s
    tolerance = ctx.param("recovery_tolerance", 1.5)
    needed = int(ctx.param("recovery_windows", 3))
    slo = ctx.slo
    before = in_interval(ts, float(ts["t"].min()) + w, start, w)
    before = before[before["requests"] > 0]
    ref_p95 = (
        statistics.median(before["p95"].dropna())
        if before["p95"].notna().any()
        else (slo.latency_ms or math.nan)
    )
    ref_err = float(before["failures"].sum() / before["requests"].sum()) if len(before) else 0.0
    p95_ok = tolerance * ref_p95 if math.isfinite(ref_p95) else math.inf
    err_ok = max(2 * ref_err, slo.error_rate if slo.error_rate is not None else 0.01)
    during = in_interval(ts, start, end, w)
    after = ts[ts["t"] >= end - 1e-9]
    recovered_at = _first_run(after, p95_ok, err_ok, needed)
    recovery_s = None if recovered_at is None else max(0.0, recovered_at - end)
    peak_p95 = float(during["p95"].max()) if not during.empty else math.nan
    peak_err = (
        float(during["failures"].sum() / during["requests"].sum())
        if not during.empty and during["requests"].sum()
        else 0.0
    )
    if recovery_s is None:
        verdict = (
            f"did not recover: p95 stayed above {p95_ok:.0f} ms (or errors above "
            f"{100 * err_ok:.2f} %) for the {len(after)} windows after the surge"
        )
    else:
        verdict = (
            f"recovered {recovery_s:.0f} s after the surge ended (p95 back under "
            f"{p95_ok:.0f} ms for {needed} windows); surge p95 peaked at {fmt(peak_p95, 0)} ms"
        )
    header = ["phase", "from s", "to s", "p95 ms", "errors %"]
    rows = [
        ["before", fmt(float(ts["t"].min()), 0), fmt(start, 0), fmt(ref_p95), fmt(100 * ref_err, 2)],
        ["surge", fmt(start, 0), fmt(end, 0), fmt(peak_p95) + " (max)", fmt(100 * peak_err, 2)],
        ["recovered at", fmt(recovered_at, 0) if recovered_at is not None else "-", "", "", ""],
    ]
    figures = {
        "surge_start_s": clean(start, 3),
        "surge_end_s": clean(end, 3),
        "baseline_load": baseline,
        "peak_load": peak,
        "reference_p95_ms": clean(ref_p95, 3),
        "peak_p95_ms": clean(peak_p95, 3),
        "surge_error_rate": clean(peak_err, 6),
        "recovered": recovery_s is not None,
        "recovery_s": clean(recovery_s, 3) if recovery_s is not None else None,
        "recovery_tolerance": tolerance,
        "recovery_windows": needed,
    }
    return Analysis(
        name="spike",
        title=title,
        verdict=verdict,
        flagged=recovery_s is None,
        figures=figures,
        markdown=f"**{verdict}**\n\n" + md_table(header, rows),
        html=html_para(verdict) + html_table(header, rows),
    )


def _first_run(after: pd.DataFrame, p95_ok: float, err_ok: float, needed: int) -> float | None:
    """Start time of the first ``needed`` consecutive windows within limits."""
    run_start, count = None, 0
    for _, row in after.iterrows():
        ok = row["requests"] > 0 and float(row["p95"]) <= p95_ok and float(row["error_rate"]) <= err_ok
        if ok:
            run_start = float(row["t"]) if count == 0 else run_start
            count += 1
            if count >= needed:
                return run_start
        else:
            count = 0
    return None


__all__ = ["soak", "spike", "surge_interval"]
