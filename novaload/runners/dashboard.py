"""k6's own web dashboard (``run --dashboard``): where it listens and where its HTML export goes.

k6 v1.1 carries the web dashboard (xk6-dashboard) as an output: ``K6_WEB_DASHBOARD=true``
adds it, ``K6_WEB_DASHBOARD_HOST``/``_PORT``/``_PERIOD`` say where it listens and how often
it takes a snapshot, and ``K6_WEB_DASHBOARD_EXPORT=FILE`` writes its HTML report when the
test ends. Two things in k6's code shape what novaload does with it:

* k6 adds the output once for ``K6_WEB_DASHBOARD=true`` and again for ``--out web-dashboard``,
  and the second one fails to bind the port: the two are never given together
  (``runners.k6args.for_run`` refuses the user's ``--out web-dashboard`` beside this one).
* the export is written only when the run took two snapshots or more (``reporter.onStop``):
  a run shorter than twice the period (10s by default) gets none, and k6 says so.

novaload binds the dashboard to loopback unless told otherwise: k6's default is every
interface, and the dashboard has no authentication while it shows the run's URLs. Each
k6 instance of a split run has its own dashboard (its segment's figures), on ``port + i``,
with its own export (``dashboard-2of3.html``). On a Docker network other than the host's,
k6 listens on every interface inside its container and the port is published on the host
address asked for, as the REST API's is.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from novaload.errors import UsageError
from novaload.runfolder import DASHBOARD_HTML, instance_file
from novaload.runners.k6args import go_duration_seconds

DEFAULT_HOST = "127.0.0.1"  # novaload's; k6's is "" (every interface)
DEFAULT_PORT = 5665  # k6's
DEFAULT_PERIOD_S = 10.0  # k6's snapshot period
ALL_INTERFACES = ""
_TRUE = ("1", "t", "T", "TRUE", "true", "True")  # Go's strconv.ParseBool, as k6 reads it
_FALSE = ("0", "f", "F", "FALSE", "false", "False")


@dataclass(frozen=True, slots=True)
class Dashboard:
    """k6's web dashboard for one run; instance ``i`` (0-based) listens on ``port + i``."""

    host: str = DEFAULT_HOST  # "" = every interface
    port: int = DEFAULT_PORT
    period: str | None = None  # a Go duration for K6_WEB_DASHBOARD_PERIOD; None: k6's 10s

    def port_of(self, index: int) -> int:
        return self.port + index

    def url(self, index: int = 0) -> str:
        """Where a browser on this machine opens instance ``index``'s dashboard (k6's own
        form: every interface is shown as 127.0.0.1)."""
        host = self.host if self.host not in (ALL_INTERFACES, "0.0.0.0", "::") else "127.0.0.1"
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{self.port_of(index)}"

    def export_name(self, index: int, count: int) -> str:
        return instance_file(DASHBOARD_HTML, index, count)

    def env(self, run_dir: Path, index: int, count: int, *, listen_host: str | None = None) -> dict[str, str]:
        """k6's environment for instance ``index`` of ``count``; ``listen_host`` replaces the
        host inside a container whose port is published (a named Docker network)."""
        env = {
            "K6_WEB_DASHBOARD": "true",
            "K6_WEB_DASHBOARD_HOST": self.host if listen_host is None else listen_host,
            "K6_WEB_DASHBOARD_PORT": str(self.port_of(index)),
            "K6_WEB_DASHBOARD_EXPORT": str(run_dir.resolve() / self.export_name(index, count)),
            # k6 would open a browser on the machine it runs on (a container, a CI host)
            "K6_WEB_DASHBOARD_OPEN": "false",
        }
        if self.period is not None:
            env["K6_WEB_DASHBOARD_PERIOD"] = self.period
        return env

    def describe(self, count: int) -> str:
        """The line said when the run starts."""
        if count == 1:
            return f"dashboard: {self.url()} while k6 runs (k6's web dashboard); {DASHBOARD_HTML} at the end"
        urls = ", ".join(self.url(i) for i in range(count))
        return (
            f"dashboards: {urls} while k6 runs, one per k6 instance (its segment's figures); "
            f"{self.export_name(0, count)} … at the end"
        )


# What --dashboard switches off in a local k6 that inherits the user's K6_WEB_DASHBOARD=true.
OFF_ENV = {"K6_WEB_DASHBOARD": "false"}


def resolve(
    asked: bool | None,
    host: str | None,
    port: int | None,
    period: str | None,
    environ: Mapping[str, str],
    *,
    runner: str,
    parallelism: int,
) -> Dashboard | None:
    """The run's dashboard: the options as given, else the user's ``K6_WEB_DASHBOARD*``
    variables (k6's own names, so a habit from ``k6 run`` keeps working), else the defaults.

    ``K6_WEB_DASHBOARD=true`` is ``--dashboard``; a host, port or period implies it;
    ``asked=False`` (``--no-dashboard``) wins over all. Refuses (exit 2) a value k6 would
    refuse, the Kubernetes runner, and a port already taken on this machine.
    """
    if asked is False:
        return None
    flag = environ.get("K6_WEB_DASHBOARD", "")
    if flag and flag not in _TRUE + _FALSE:
        raise UsageError(f"K6_WEB_DASHBOARD={flag!r}: not true or false (k6 would refuse it)")
    if not (asked or host is not None or port is not None or period is not None or flag in _TRUE):
        return None
    if runner == "k8s":
        raise UsageError(
            "--dashboard: not on the Kubernetes runner (a runner pod's dashboard would need a "
            "port-forward, which novaload does not make); use --runner local or docker",
            hint="unset K6_WEB_DASHBOARD if it came from the environment",
        )
    if host is None:
        host = environ.get("K6_WEB_DASHBOARD_HOST", DEFAULT_HOST)
    if port is None:
        given = environ.get("K6_WEB_DASHBOARD_PORT")
        try:
            port = int(given) if given else DEFAULT_PORT
        except ValueError:
            raise UsageError(f"K6_WEB_DASHBOARD_PORT={given!r}: not a port number") from None
    if period is None:
        period = environ.get("K6_WEB_DASHBOARD_PERIOD") or None
    last = port + parallelism - 1
    if port < 1 or last > 65535:
        span = f"{port}" if parallelism == 1 else f"{port}-{last} (one per k6 instance)"
        raise UsageError(f"--dashboard-port: {span} is not within 1-65535")
    if period is not None:
        seconds = go_duration_seconds(period)
        if seconds is None or seconds <= 0:  # k6's periodic flusher refuses 0
            why = "is not a duration such as 1s or 500ms" if seconds is None else "must be longer than 0s"
            raise UsageError(f"--dashboard-period {period!r}: {why}")
    dashboard = Dashboard(host=host, port=port, period=period)
    for index in range(parallelism):
        _check_free(dashboard, index)
    return dashboard


def _check_free(dashboard: Dashboard, index: int) -> None:
    """Refuse a port something already listens on (k6 would fail to start the test on it).
    SO_REUSEADDR as Go sets it: a port left in TIME_WAIT by an earlier run is free to k6."""
    port = dashboard.port_of(index)
    try:
        infos = socket.getaddrinfo(
            dashboard.host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except socket.gaierror as exc:
        raise UsageError(f"--dashboard-host {dashboard.host!r}: {exc.strerror}") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            where = f"{dashboard.host or 'every interface'} port {port}"
            if exc.errno == errno.EADDRINUSE:
                raise UsageError(
                    f"--dashboard: {where} is in use", hint="pick another with --dashboard-port"
                ) from None
            raise UsageError(f"--dashboard: cannot listen on {where}: {exc.strerror}") from None


def short_run_note(dashboard: Dashboard, planned_s: float | None) -> str | None:
    """A line when the run is planned shorter than two snapshot periods: k6 writes no export."""
    period_s = DEFAULT_PERIOD_S if dashboard.period is None else go_duration_seconds(dashboard.period)
    if planned_s is None or period_s is None or planned_s >= 2 * period_s:
        return None
    return (
        f"--dashboard: k6 writes {DASHBOARD_HTML} only for a run of two snapshot periods or more "
        f"({2 * period_s:g}s here); a shorter --dashboard-period gives this run one"
    )


__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "OFF_ENV", "Dashboard", "resolve", "short_run_note"]
