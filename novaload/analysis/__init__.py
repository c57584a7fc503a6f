"""Scenario analyses: what a stress, soak, spike or capacity run means, beyond pass/fail.

Each analysis reads the ingested per-window timeseries of a run
(:class:`novaload.results.model.RunResults`) and the load plan (the k6
executor's stages) and returns a frozen :class:`Analysis` with a one-line
verdict, JSON-able figures, and Markdown/HTML for the reports. Analyses are
registered explicitly in :data:`ANALYSES`; a scenario names the ones it wants
in ``analyses: [...]``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from novaload.analysis.base import Analysis, AnalysisContext, Slo, slo_from_thresholds
from novaload.analysis.steps import capacity, stress
from novaload.analysis.trend import soak, spike
from novaload.errors import ConfigError
from novaload.results.model import RunResults

ANALYSES: dict[str, Callable[[RunResults, AnalysisContext], Analysis]] = {
    "stress": stress,
    "soak": soak,
    "spike": spike,
    "capacity": capacity,
}


def run_analyses(names: Sequence[str], results: RunResults, run: Any) -> list[Analysis]:
    """Run the named analyses.

    ``run`` is an :class:`AnalysisContext` (used for every analysis), or any
    object with ``scenario`` and ``profile`` (the pipeline's ``PreparedRun``),
    from which each analysis gets its own context (its params come from
    ``scenario.params[<analysis name>]``).
    """
    unknown = [n for n in names if n not in ANALYSES]
    if unknown:
        raise ConfigError(
            "unknown analysis", key="analyses", value=unknown[0], hint=f"known: {', '.join(sorted(ANALYSES))}"
        )
    out = []
    for name in names:
        if isinstance(run, AnalysisContext):
            ctx = run
        else:
            ctx = AnalysisContext.for_run(run.scenario, run.profile, name)
        out.append(ANALYSES[name](results, ctx))
    return out


__all__ = ["ANALYSES", "Analysis", "AnalysisContext", "Slo", "run_analyses", "slo_from_thresholds"]
