"""What makes two runs the same test, so one can be the other's baseline or share its trend.

A run's :class:`RunIdentity` is its script or scenario, its environment, its target, its
load (executor, VUs or rate, iterations, durations: ``scenario/load.py``'s key) and its
runner with its parallelism. ``--baseline last|last-passing`` and the trend chart only
consider runs whose identity is the same; a run named by its id is compared whatever it
is, and the comparison lists how the two differ.

Runs registered before novaload recorded an identity have none (NULL in the history
store): their target, load and runner are unknown, so they are never "the same test" as a
new run; they stay comparable by run id.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from novaload.runfolder import RunRecord


@dataclass(frozen=True, slots=True)
class RunIdentity:
    scenario: str | None
    environment: str | None
    target: str | None  # the target without credentials, "demo", or None (the script's own)
    load: str | None  # for people: "constant-vus 10 VUs 30s"
    load_key: str | None  # compared: a hash of every load parameter
    runner: str | None
    parallelism: int | None

    @classmethod
    def of(cls, source: Any) -> RunIdentity:
        """From anything with these attributes: a :class:`RunRecord`, a history entry, a
        comparison's snapshot."""
        return cls(
            scenario=getattr(source, "scenario", None) or None,
            environment=getattr(source, "environment", None),
            target=getattr(source, "target_id", None),
            load=getattr(source, "load", None),
            load_key=getattr(source, "load_key", None),
            runner=getattr(source, "runner", None),
            parallelism=getattr(source, "parallelism", None),
        )

    def columns(self) -> dict[str, object]:
        """The history store's columns that must hold the same values (NULL included)."""
        return {
            "scenario": self.scenario,
            "environment": self.environment,
            "target_id": self.target,
            "load_key": self.load_key,
            "runner": self.runner,
            "parallelism": self.parallelism,
        }

    def differences(self, other: RunIdentity) -> list[str]:
        """How ``other`` (a baseline) differs from this run, one phrase each."""
        unknown = "unknown (recorded before novaload kept it)"
        out = []
        for what, mine, theirs in (
            ("scenario", self.scenario, other.scenario),
            ("environment", self.environment, other.environment),
            ("target", self.target, other.target),
            ("load", *self._loads(other)),
            ("runner", self._runner(), other._runner()),
        ):
            if mine != theirs:
                out.append(f"{what} {theirs or unknown} (this run: {mine or unknown})")
        return out

    def _loads(self, other: RunIdentity) -> tuple[str | None, str | None]:
        """The two loads as the difference shows them (equal when they are the same load;
        with their keys when only a parameter the text leaves out differs)."""
        if self.load_key == other.load_key:
            return None, None
        if self.load == other.load and self.load is not None:
            return f"{self.load} [{self.load_key}]", f"{other.load} [{other.load_key}]"
        return self.load, other.load

    def _runner(self) -> str | None:
        if self.runner is None:
            return None
        return f"{self.runner} ×{self.parallelism}" if (self.parallelism or 1) > 1 else self.runner

    def describe(self) -> str:
        """``api · env staging · target https://… · constant-vus 10 VUs 30s · runner docker ×2``."""
        parts = [
            self.scenario,
            self.environment and f"env {self.environment}",
            self.target and f"target {self.target}",
            self.load,
            self._runner() and f"runner {self._runner()}",
        ]
        return " · ".join(p for p in parts if p)


def identity_fields(record: RunRecord) -> Mapping[str, object]:
    """The history columns of a run's identity, from its ``run.json``."""
    return {
        "target_id": record.target_id,
        "load": record.load,
        "load_key": record.load_key,
        "runner": record.runner,
        "parallelism": record.parallelism,
    }


__all__ = ["RunIdentity", "identity_fields"]
