"""Execution segments: how one test is split across N k6 instances.

Instance i of N runs ``i/N:(i+1)/N`` of a shared sequence, exactly as the k6-operator
splits a TestRun, so the Docker and Kubernetes runners give the same partition.
"""

from __future__ import annotations


def segment_args(index: int, count: int) -> list[str]:
    """k6 execution-segment flags for instance ``index`` (0-based) of ``count``;
    with one instance there are no flags at all."""
    if count <= 1:
        return []

    def frac(k: int) -> str:
        return "0" if k == 0 else "1" if k == count else f"{k}/{count}"

    sequence = ",".join(frac(k) for k in range(count + 1))
    return [
        "--execution-segment",
        f"{frac(index)}:{frac(index + 1)}",
        "--execution-segment-sequence",
        sequence,
    ]


__all__ = ["segment_args"]
