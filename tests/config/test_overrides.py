"""Command line > Makefile variables > scenario defaults; load scaling keeps shapes."""

from __future__ import annotations

from pathlib import Path

import pytest

from novaload.config import Overrides, load_project, parse_duration, select
from novaload.config.models import Profile
from novaload.config.resolve import apply_load_overrides

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def project():
    return load_project(REPO / "configs", REPO / "k6-scenarios")


def test_cli_beats_environment_variables():
    merged = Overrides(environment="staging", vus=3).merged_with_env(
        {
            "ENVIRONMENT": "production",
            "CONCURRENT_USERS": "50",
            "TEST_DURATION": "20s",
            "PROFILE": "light",
            "API_TARGET": "http://127.0.0.1:9",
        }
    )
    assert merged.environment == "staging"
    assert merged.vus == 3
    assert merged.duration == "20s"
    assert merged.profile == "light"
    assert merged.target_url == "http://127.0.0.1:9"


def test_flat_profile_values_are_replaced(project):
    sel = select(project, "api", Overrides(profile="smoke", vus=7, duration="42s"))
    assert (sel.profile.vus, sel.profile.duration) == (7, "42s")


def test_staged_profile_keeps_its_shape(project):
    light = project.profiles["light"]
    scaled = apply_load_overrides(light, vus=5, duration="60s")
    peak = max(s.target for s in scaled.stages)
    assert peak == 5
    assert sum(parse_duration(s.duration) for s in scaled.stages) == pytest.approx(60, abs=2)
    # relative shape kept: ramp, hold, ramp-down proportions
    orig = [parse_duration(s.duration) for s in light.stages]
    new = [parse_duration(s.duration) for s in scaled.stages]
    assert new.index(max(new)) == orig.index(max(orig))


def test_api_target_points_environment_elsewhere(project):
    sel = select(project, "api", Overrides(environment="staging", target_url="http://127.0.0.1:1234/"))
    assert sel.environment.base_url == "http://127.0.0.1:1234"
    assert sel.environment.ws_url == "ws://127.0.0.1:1234"
    # secrets are still references, never values
    assert "${STAGING_API_TOKEN}" in sel.environment.headers["Authorization"]


@pytest.mark.parametrize(
    "data",
    [
        {"name": "x"},
        {"name": "x", "vus": 1},
        {"name": "x", "rate": 5},
        {"name": "x", "vus": 1, "duration": "1s", "stages": [{"duration": "1s", "target": 1}], "rate": 3},
        {"name": "x", "vus": 1, "duration": "1s", "think_time": [2, 1]},
    ],
    ids=["nothing", "vus-without-duration", "rate-without-duration", "two-models", "think-time-reversed"],
)
def test_incomplete_profiles_are_rejected(data):
    with pytest.raises(ValueError):
        Profile.model_validate(data)
