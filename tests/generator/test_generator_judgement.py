"""The load-generator verdict from its evidence: samples, dropped iterations, k6's log."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from novaload.config.models import GeneratorCriteria
from novaload.errors import ExitCode
from novaload.results.generator import (
    assess,
    assess_run_folder,
    longest_saturated,
    read_samples,
    read_vu_ceilings,
)
from novaload.results.model import RunResults
from novaload.run.outcome import exit_code_for, verdict_for
from novaload.runfolder import GENERATOR_SAMPLES


def _write(
    folder: Path,
    cpu: list[float],
    *,
    share: float = 1.0,
    wait: float | None = 0.0,
    instance: int = 1,
    t0: float = 1000.0,
) -> None:
    with (folder / GENERATOR_SAMPLES).open("a") as fh:
        for i, c in enumerate(cpu):
            fh.write(
                json.dumps(
                    {
                        "time": t0 + i + 1,
                        "instance": instance,
                        "runner": "local",
                        "interval_s": 1.0,
                        "cpu_percent": c,
                        "wait_percent": wait,
                        "cpu_share": share,
                        "rss_bytes": 1000 * (i + 1),
                        "host_cpu_percent": None,
                    }
                )
                + "\n"
            )


@pytest.mark.parametrize(
    ("cpu", "longest"),
    [
        ([95] * 10, 10.0),  # exactly the limit: flagged
        ([95] * 9 + [50] + [95] * 9, 9.0),  # a dip resets the stretch
        ([89.9] * 30, 0.0),
    ],
    ids=["ten-seconds", "interrupted", "below"],
)
def test_cpu_stretch(tmp_path: Path, cpu: list[float], longest: float) -> None:
    _write(tmp_path, cpu)
    health = assess_run_folder(tmp_path, dropped_iterations=0, origin_s=1000.0)
    assert health.longest_saturated_s == longest
    assert health.trustworthy is (longest < 10)
    assert health.samples[0].t == 1.0  # relative to the run's first k6 sample


def test_waiting_for_a_cpu_counts_as_demand_and_share_scales(tmp_path: Path) -> None:
    # 2 cores: 100 % of one core is 50 % of the share; waiting for another 90 % makes it 95 %.
    _write(tmp_path, [100.0] * 12, share=2.0, wait=90.0)
    health = assess_run_folder(tmp_path, dropped_iterations=0, origin_s=None)
    assert not health.trustworthy and health.peak_cpu_of_share == 50.0 and health.peak_demand_of_share == 95.0
    relaxed = assess_run_folder(
        tmp_path, dropped_iterations=0, origin_s=None, criteria=GeneratorCriteria(cpu_percent=96)
    )
    assert relaxed.trustworthy


def test_instances_are_judged_separately(tmp_path: Path) -> None:
    _write(tmp_path, [95] * 6, instance=1)
    _write(tmp_path, [95] * 6, instance=2)  # 6 + 6 seconds, but on two different k6 instances
    samples = read_samples(tmp_path / GENERATOR_SAMPLES, None)
    assert longest_saturated(samples, 90.0) == (6.0, 1)


def test_dropped_iterations_and_vu_ceiling(tmp_path: Path) -> None:
    (tmp_path / "k6.log").write_text(
        '[1/2] time="2026-12-02T08:53:07Z" level=warning msg="Insufficient VUs, reached 8 active VUs and cannot '
        'initialize more" executor=constant-arrival-rate scenario=busy\n'
        '[2/2] time="2026-12-02T08:53:07Z" level=warning msg="Insufficient VUs, reached 8 active VUs and cannot '
        'initialize more" executor=constant-arrival-rate scenario=busy\n'
        "WARN[0004] Insufficient VUs, reached 50 active VUs and cannot initialize more  "
        'executor=ramping-arrival-rate scenario="my scenario"\n'
    )
    ceilings = read_vu_ceilings(tmp_path / "k6.log")
    assert [(v.scenario, v.executor, v.max_vus) for v in ceilings] == [
        ("busy", "constant-arrival-rate", 8),
        ("my scenario", "ramping-arrival-rate", 50),
    ]
    health = assess_run_folder(tmp_path, dropped_iterations=3, origin_s=None)
    assert not health.trustworthy and len(health.reasons) == 3
    assert any("not sampled" in n for n in health.notes)
    lenient = assess(
        dropped_iterations=3,
        samples=[],
        vu_ceilings=ceilings,
        criteria=GeneratorCriteria(max_dropped_iterations=3, vu_ceiling=False),
    )
    assert lenient.trustworthy


def test_truncated_samples_line_is_skipped(tmp_path: Path) -> None:
    _write(tmp_path, [10.0, 20.0])
    with (tmp_path / GENERATOR_SAMPLES).open("a") as fh:
        fh.write('{"time": 1003, "cpu_perc')
    assert [s.cpu_percent for s in read_samples(tmp_path / GENERATOR_SAMPLES, None)] == [10.0, 20.0]


def _no_samples() -> RunResults:
    """Results of a one-second run without a sample: only the generator verdict matters."""
    return RunResults(
        metrics={},
        thresholds=[],
        duration_s=1.0,
        duration_source="sample-span",
        started_at=None,
        ended_at=None,
        sources=[],
        lines=0,
        points=0,
        input_bytes=0,
    )


@pytest.mark.parametrize(
    ("k6_exit", "strict", "expected"),
    [
        (0, True, ExitCode.GENERATOR_UNTRUSTWORTHY),
        (99, True, ExitCode.GENERATOR_UNTRUSTWORTHY),
        (107, True, 107),  # a script exception still passes through
        (0, False, ExitCode.OK),
    ],
)
def test_exit_code_when_untrustworthy(tmp_path: Path, k6_exit: int, strict: bool, expected: int) -> None:
    results = _no_samples()
    results.load_generator = assess(
        dropped_iterations=1, samples=[], vu_ceilings=[], criteria=GeneratorCriteria()
    )
    code = exit_code_for(k6_exit, results, strict_generator=strict)
    assert code == expected
    if code == ExitCode.OK:
        assert verdict_for(code, results, None) == "passed (untrustworthy load generator)"


@pytest.mark.parametrize(("strict", "outcome"), [(True, "failure"), (False, "skipped")])
def test_junit_shows_the_generator(strict: bool, outcome: str) -> None:
    import xml.etree.ElementTree as ET

    from novaload.reports import ReportContext, render_junit

    results = _no_samples()
    results.load_generator = assess(
        dropped_iterations=7, samples=[], vu_ceilings=[], criteria=GeneratorCriteria(strict=strict)
    )
    suite = ET.fromstring(render_junit(results, ReportContext(run_id="r", scenario="s", verdict="x"))).find(
        "testsuite"
    )
    assert suite is not None
    case = suite.find("testcase[@classname='load_generator']")
    assert case is not None and case.find(outcome) is not None
    assert "7 iterations dropped" in case.find(outcome).get("message", "")
    assert suite.get("tests") == "1" and suite.get("failures") == ("1" if strict else "0")
