"""``python -m novaload.target``: run the demo target as a process (used by TargetProcess)."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
from pathlib import Path

from novaload.errors import NovaloadError
from novaload.lifetime import set_parent_death_signal
from novaload.target.server import serve
from novaload.target.settings import TargetSettings


def build_parser() -> argparse.ArgumentParser:
    d = TargetSettings()
    p = argparse.ArgumentParser(
        prog="python -m novaload.target", description="Run the novaload demo target (loopback by default)."
    )
    p.add_argument("--host", default=d.host)
    p.add_argument("--port", type=int, default=d.port, help="0 = pick a free port")
    p.add_argument("--latency-median-ms", type=float, default=d.latency_median_ms)
    p.add_argument("--latency-p99-ms", type=float, default=d.latency_p99_ms)
    p.add_argument("--error-rate", type=float, default=d.error_rate)
    p.add_argument("--drift-ms-per-min", type=float, default=d.latency_drift_ms_per_min)
    p.add_argument("--capacity-rps", type=float, default=d.capacity_rps)
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--ws-interval-ms", type=float, default=d.ws_interval_ms)
    p.add_argument(
        "--otlp-endpoint", default=None, help="export spans over OTLP/HTTP to this base URL (…/v1/traces)"
    )
    p.add_argument(
        "--ready-file", type=Path, default=None, help="write the actual base URL here once listening"
    )
    p.add_argument(
        "--exit-with-parent",
        action="store_true",
        help="stop when stdin reaches end of file (the parent holds the pipe's only writer)",
    )
    return p


def _stop_with_parent() -> None:
    """Stop gracefully (SIGTERM to ourselves) when the parent dies or closes our stdin."""
    set_parent_death_signal(signal.SIGTERM)

    def watch() -> None:
        # os.read, not sys.stdin: a daemon thread blocked in a buffered read aborts the
        # interpreter's shutdown (it cannot take the buffer's lock).
        with contextlib.suppress(OSError):
            while os.read(0, 4096):
                pass
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def settings_from_args(args: argparse.Namespace) -> TargetSettings:
    return TargetSettings(
        host=args.host,
        port=args.port,
        latency_median_ms=args.latency_median_ms,
        latency_p99_ms=args.latency_p99_ms,
        error_rate=args.error_rate,
        latency_drift_ms_per_min=args.drift_ms_per_min,
        capacity_rps=args.capacity_rps,
        seed=args.seed,
        ws_interval_ms=args.ws_interval_ms,
        otlp_endpoint=args.otlp_endpoint,
    )


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.exit_with_parent:
        _stop_with_parent()
    try:
        serve(settings_from_args(args), ready_file=args.ready_file)
    except NovaloadError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return int(exc.exit_code)
    return 0


if __name__ == "__main__":
    sys.exit(main())
