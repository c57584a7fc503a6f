"""Baseline comparison: is this run slower than its baseline, beyond noise?

inputs (folder / file / run id / selector) → snapshot → engine (statistics) → Comparison
  → comparison.json, comparison.md, report sections (diff table, trend chart)
"""

from novaload.compare.api import compare_runs, gate_against_baseline, trend_entries
from novaload.compare.comparison import Comparison, EndpointComparison, MetricChange, Status
from novaload.compare.config import CompareConfig, load_compare_config
from novaload.compare.engine import compare_snapshots
from novaload.compare.record import OutcomeLike, entry_for, record_run, register_run_dir
from novaload.compare.snapshot import OVERALL, EndpointData, RunSnapshot, snapshot_from_results

__all__ = [
    "OVERALL",
    "OutcomeLike",
    "CompareConfig",
    "Comparison",
    "EndpointComparison",
    "EndpointData",
    "MetricChange",
    "RunSnapshot",
    "Status",
    "compare_runs",
    "compare_snapshots",
    "entry_for",
    "gate_against_baseline",
    "load_compare_config",
    "record_run",
    "register_run_dir",
    "snapshot_from_results",
    "trend_entries",
]
