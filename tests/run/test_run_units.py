"""Small pieces of the run layer: exit codes, redaction, segments, progress merging."""

from __future__ import annotations

from fractions import Fraction

import pytest

from novaload.errors import ExitCode, K6NotFoundError
from novaload.redact import MASK, Redactor
from novaload.run.outcome import exit_code_for
from novaload.runfolder import instance_file, new_run_id, safe_url
from novaload.runners.k6api import combine
from novaload.runners.k6binary import find_k6
from novaload.runners.segments import segment_args


class _Results:
    def __init__(self, failed: bool, incomplete: tuple[str, ...] = ()) -> None:
        self.thresholds_failed = failed
        self.load_generator = None
        self.incomplete = list(incomplete)


@pytest.mark.parametrize(
    ("k6_exit", "failed", "regressed", "expected"),
    [
        (0, False, False, ExitCode.OK),
        (99, True, False, 99),
        (0, True, False, 99),  # k6 said ok, our offline judgement did not: never pass it
        (105, False, False, 105),  # interrupted: k6's code passes through
        (107, False, False, 107),
        (0, False, True, ExitCode.REGRESSION),
        (99, True, True, 99),  # thresholds outrank regression
    ],
)
def test_exit_code_for(k6_exit, failed, regressed, expected):
    assert exit_code_for(k6_exit, _Results(failed), regressed=regressed) == expected


@pytest.mark.parametrize(("k6_exit", "failed", "expected"), [(0, False, 4), (0, True, 4), (99, True, 99)])
def test_results_that_did_not_all_arrive_are_never_judged_passed(k6_exit, failed, expected):
    """k6 said 0 on all of it: figures from part of it are no verdict (exit 4); k6's own
    failure still passes through."""
    lost = ("runner 2/2: its results did not all arrive: ...",)
    assert exit_code_for(k6_exit, _Results(failed, lost), regressed=True) == expected


def test_redactor_masks_every_occurrence_longest_first():
    r = Redactor(["abcd1234", "abcd1234-extended", "x"])
    assert r("a abcd1234-extended b abcd1234 c x") == f"a {MASK} b {MASK} c x"


@pytest.mark.parametrize("n", [1, 2, 3, 4, 7])
def test_segments_cover_the_whole_test_exactly_once(n):
    total = Fraction(0)
    previous_end = Fraction(0)
    for i in range(n):
        args = segment_args(i, n)
        if n == 1:
            assert args == []
            return
        start, end = (Fraction(x) for x in args[1].split(":"))
        assert start == previous_end
        total += end - start
        previous_end = end
        assert args[3].split(",")[0] == "0" and args[3].split(",")[-1] == "1"
    assert total == 1


def test_instance_file_names():
    assert instance_file("k6-results.json", 0, 1) == "k6-results.json"
    assert instance_file("k6-results.json.gz", 1, 3) == "k6-results-2of3.json.gz"


def test_combine_sums_instances_and_weights_error_rate():
    def inst(vus, reqs, rate, failed, p95):
        return {
            "status": {"vus": vus, "vus-max": vus, "running": True},
            "metrics": {
                "http_reqs": {"count": reqs, "rate": rate},
                "http_req_failed": {"rate": failed},
                "http_req_duration": {"p(95)": p95},
                "iterations": {"count": reqs},
            },
        }

    s = combine([inst(2, 100, 10.0, 0.1, 50.0), inst(3, 300, 30.0, 0.0, 80.0)], 5.0)
    assert (s.vus, s.requests, s.rps, s.p95_ms) == (5, 400, 40.0, 80.0)
    assert s.error_rate == pytest.approx(10 / 400)


def test_run_ids_are_path_safe():
    run_id = new_run_id("a b/c")
    assert "/" not in run_id and " " not in run_id and run_id.startswith("a-b-c-")


def test_run_folders_never_clash(monkeypatch, tmp_path):
    """Runs started in the same second get different folders even when the random part
    of their ids collides: the folder is claimed exclusively and a new id drawn."""
    from novaload import runfolder

    monkeypatch.setenv("NOVALOAD_REPORTS_DIR", str(tmp_path))
    ids = iter(["api-x-1", "api-x-1", "api-x-2"])
    monkeypatch.setattr(runfolder, "new_run_id", lambda scenario: next(ids))
    first = runfolder.claim_new_run_folder("api", lambda run_id: runfolder.RunRecord(run_id=run_id))
    second = runfolder.claim_new_run_folder("api", lambda run_id: runfolder.RunRecord(run_id=run_id))
    assert (first.run_id, first.path) == ("api-x-1", (tmp_path / "api-x-1").resolve())
    assert (second.run_id, second.path) == ("api-x-2", (tmp_path / "api-x-2").resolve())


def test_safe_url_drops_credentials():
    assert safe_url("https://user:pw@host:8443/x") == "https://host:8443/x"


def test_k6_binary_from_environment_variable(monkeypatch, tmp_path):
    monkeypatch.setenv("K6_BINARY", str(tmp_path / "missing-k6"))
    with pytest.raises(K6NotFoundError, match="K6_BINARY"):
        find_k6()
    fake = tmp_path / "fake-k6"
    fake.write_text("#!/bin/sh\necho 'not k6'\n")
    fake.chmod(0o755)
    monkeypatch.setenv("K6_BINARY", str(fake))
    with pytest.raises(K6NotFoundError, match="not usable"):
        find_k6()
