"""Load-generator health: k6's own CPU and memory, sampled while it runs.

k6 has no metric for its own resource use (grafana/k6#888), yet a k6 that runs
out of CPU inflates every latency it measures and lets arrival-rate executors
drop iterations. So a runner starts a :class:`GeneratorSampler` beside k6: a
daemon thread that asks one *probe* per k6 instance for a sample every second
and appends it to ``generator-samples.jsonl`` in the run folder (one JSON object
per line, flushed each time, so an interrupted run keeps what was sampled and
``novaload report`` can judge an old run again).

A sample is ``{"time": unix seconds, "instance": 1-based, "runner", "interval_s",
"cpu_percent", "wait_percent", "cpu_share", "rss_bytes", "host_cpu_percent"}``:

* ``interval_s``: the span the sample covers (it ends at ``time``);
* ``cpu_percent``: CPU time k6 used over the interval since the previous sample,
  in percent of ONE core (200 = two cores busy), measured on our own clock;
* ``wait_percent``: time k6's threads were ready to run but waited for a CPU
  (the kernel's run-queue delay, ``/proc/PID/task/*/schedstat``), in percent of
  one core: k6 pinned to a core its neighbours keep busy uses little CPU yet is
  starved, and this is what shows it (None where the kernel does not say);
* ``cpu_share``: the cores k6 may use: its CPU affinity (``taskset``), capped by
  a cgroup CPU quota; for a container its ``--cpus``/cpuset limit, else the
  engine's online CPUs. ``cpu_percent / cpu_share`` is the load on its share;
* ``rss_bytes``: resident memory (a container: usage minus inactive file cache,
  as ``docker stats`` shows it);
* ``host_cpu_percent``: how busy the whole machine was (local runner only),
  because a k6 starved by its neighbours is no more trustworthy.

The judgement (is the run trustworthy?) is not made here but offline, from this
file, k6's log and its results: ``novaload.results.generator``.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

from novaload.runfolder import GENERATOR_SAMPLES, create_new_file

SAMPLE_INTERVAL_S = 1.0
_CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


class Probe(Protocol):
    """Reads one k6 instance's resource use; None once it is gone."""

    instance: int
    runner: str

    def sample(self) -> dict[str, Any] | None: ...


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="ascii", errors="replace") as fh:
            return fh.read()
    except OSError:
        return None


def _cgroup_quota(pid: int) -> float | None:
    """Cores allowed by the process's cgroup CPU quota (v2 ``cpu.max`` or v1 CFS), if any."""
    text = _read(f"/proc/{pid}/cgroup") or ""
    for line in text.splitlines():
        _, controllers, path = line.split(":", 2)
        if controllers == "":  # cgroup v2
            got = (_read(f"/sys/fs/cgroup{path}/cpu.max") or "").split()
            if len(got) == 2 and got[0] != "max":
                return float(got[0]) / float(got[1])
        elif "cpu" in controllers.split(","):
            base = f"/sys/fs/cgroup/{controllers}{path}"
            quota = (_read(f"{base}/cpu.cfs_quota_us") or "").strip()
            period = (_read(f"{base}/cpu.cfs_period_us") or "").strip()
            if quota and period and int(quota) > 0:
                return int(quota) / int(period)
    return None


def _host_busy() -> tuple[int, int] | None:
    """(busy, total) jiffies of the whole machine from /proc/stat."""
    first = (_read("/proc/stat") or "").split("\n", 1)[0].split()
    if not first or first[0] != "cpu":
        return None
    vals = [int(v) for v in first[1:]]
    idle = vals[3] + (vals[4] if len(vals) > 4 else 0)  # idle + iowait
    total = sum(vals[:8])  # guest time is already inside user/nice
    return total - idle, total


def _runqueue_wait_s(pid: int) -> float | None:
    """Seconds the process's threads spent runnable but waiting for a CPU, summed
    (``/proc/PID/task/*/schedstat``, second field, ns); None where unavailable."""
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return None
    total, seen = 0, False
    for tid in tasks:
        got = (_read(f"/proc/{pid}/task/{tid}/schedstat") or "").split()
        if len(got) >= 2:
            total += int(got[1])
            seen = True
    return total / 1e9 if seen else None


class ProcessProbe:
    """A local k6 process, read from /proc (no dependency; Linux only)."""

    runner = "local"

    def __init__(self, pid: int, instance: int = 1) -> None:
        self.pid = pid
        self.instance = instance
        self._last: tuple[float, float, float | None] | None = None  # (monotonic s, cpu s, wait s)
        self._host: tuple[int, int] | None = _host_busy()

    def _cpu_seconds(self) -> float | None:
        """CPU seconds used so far; None once k6 has exited (a zombie waiting to be reaped has
        no memory left to read, and its last interval is not one of a running k6)."""
        text = _read(f"/proc/{self.pid}/stat")
        if text is None:
            return None
        fields = text.rsplit(")", 1)[-1].split()  # the command name may hold spaces
        # fields[0] is the state (field 3); utime and stime are fields 14 and 15.
        if fields[0] in ("Z", "X"):
            return None
        return (int(fields[11]) + int(fields[12])) / _CLK_TCK

    def _rss(self) -> int | None:
        for line in (_read(f"/proc/{self.pid}/status") or "").splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        return None

    def _share(self) -> float:
        try:
            cores = float(len(os.sched_getaffinity(self.pid)))
        except OSError:
            cores = float(os.cpu_count() or 1)
        quota = _cgroup_quota(self.pid)
        return min(cores, quota) if quota else cores

    def sample(self) -> dict[str, Any] | None:
        now = time.monotonic()
        cpu = self._cpu_seconds()
        if cpu is None:
            return None
        wait = _runqueue_wait_s(self.pid)
        last, self._last = self._last, (now, cpu, wait)
        host, host_pct = _host_busy(), None
        if host and self._host and host[1] > self._host[1]:
            host_pct = 100.0 * (host[0] - self._host[0]) / (host[1] - self._host[1])
        self._host = host or self._host
        if last is None or now <= last[0]:
            return None  # the first reading only starts the interval
        return {
            "interval_s": now - last[0],
            "cpu_percent": 100.0 * (cpu - last[1]) / (now - last[0]),
            "wait_percent": None
            if wait is None or last[2] is None
            else 100.0 * (wait - last[2]) / (now - last[0]),
            "cpu_share": self._share(),
            "rss_bytes": self._rss(),
            "host_cpu_percent": host_pct,
        }


class ContainerProbe:
    """A k6 container, read from the Docker engine's stats API (one-shot reads)."""

    runner = "docker"

    def __init__(self, container: Any, instance: int = 1) -> None:
        self.container = container
        self.instance = instance
        self._last: tuple[float, int, float | None] | None = None  # (monotonic s, cpu ns, wait s)
        self._share: float | None = None
        self._pid: int | None = None

    def _limit(self, stats: dict[str, Any]) -> float:
        if self._share is None:
            online = float(stats.get("cpu_stats", {}).get("online_cpus") or os.cpu_count() or 1)
            share = online
            try:
                self.container.reload()
                hc = self.container.attrs.get("HostConfig", {})
            except Exception:  # noqa: BLE001 - a vanished container keeps the engine's count
                hc = {}
            if hc.get("NanoCpus"):
                share = min(share, hc["NanoCpus"] / 1e9)
            elif hc.get("CpuQuota") and hc.get("CpuPeriod"):
                share = min(share, hc["CpuQuota"] / hc["CpuPeriod"])
            if hc.get("CpusetCpus"):
                share = min(share, float(_cpuset_size(hc["CpusetCpus"])))
            self._share = share
            pid = self.container.attrs.get("State", {}).get("Pid") if hc else None
            self._pid = int(pid) if pid else None  # k6 is PID 1 of the container
        return self._share

    def sample(self) -> dict[str, Any] | None:
        try:
            stats = self.container.stats(stream=False, one_shot=True)
        except Exception:  # noqa: BLE001 - the container is gone or the engine is busy: no sample
            return None
        cpu = (stats.get("cpu_stats") or {}).get("cpu_usage", {}).get("total_usage")
        if cpu is None or not (stats.get("memory_stats") or {}).get("usage"):
            return None  # an exited container reports empty stats (its CPU counter reads 0)
        now = time.monotonic()
        share = self._limit(stats)
        # On a local engine the container's k6 is a host process: its run-queue wait is readable.
        wait = _runqueue_wait_s(self._pid) if self._pid else None
        last, self._last = self._last, (now, int(cpu), wait)
        if last is None or now <= last[0] or int(cpu) < last[1]:
            return None
        mem = stats.get("memory_stats") or {}
        inner = mem.get("stats") or {}
        cache = inner.get("inactive_file", inner.get("total_inactive_file", 0))
        usage = mem.get("usage")
        return {
            "interval_s": now - last[0],
            "cpu_percent": 100.0 * (int(cpu) - last[1]) / 1e9 / (now - last[0]),
            "wait_percent": None
            if wait is None or last[2] is None
            else 100.0 * (wait - last[2]) / (now - last[0]),
            "cpu_share": share,
            "rss_bytes": None if usage is None else max(0, int(usage) - int(cache)),
            "host_cpu_percent": None,
        }


def _cpuset_size(spec: str) -> int:
    """``"0-2,5"`` → 4."""
    n = 0
    for part in spec.split(","):
        lo, _, hi = part.partition("-")
        n += (int(hi) - int(lo) + 1) if hi else 1
    return max(n, 1)


class GeneratorSampler:
    """Samples every probe each ``interval_s`` into the run folder's samples file."""

    def __init__(
        self,
        probes: Sequence[Probe],
        run_dir: Path,
        *,
        interval_s: float = SAMPLE_INTERVAL_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.probes = list(probes)
        self.path = run_dir / GENERATOR_SAMPLES
        self.interval_s = interval_s
        self._clock = clock
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._out: Any = None
        # One thread per probe: a stats call to the engine can take most of a second, and
        # sampling instances one after the other would stretch every instance's interval.
        self._threads = [
            threading.Thread(
                target=self._loop, args=(p,), name=f"novaload-generator-{p.instance}", daemon=True
            )
            for p in self.probes
        ]

    def start(self) -> GeneratorSampler:
        self._out = create_new_file(self.path)  # afresh, and never through a planted symlink
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            if thread.is_alive():
                thread.join(timeout=5)
        with self._lock:
            if self._out is not None:
                self._out.close()
                self._out = None

    def _loop(self, probe: Probe) -> None:
        probe.sample()  # the first reading opens the probe's first interval
        due = time.monotonic()
        while True:
            # A fixed cadence: a slow read (the engine's first stats of a container can take
            # a second) delays one sample, not every later one.
            due = max(due + self.interval_s, time.monotonic())
            if self._stop.wait(due - time.monotonic()):
                return
            got = probe.sample()
            if got is None:
                continue
            record = {"time": self._clock(), "instance": probe.instance, "runner": probe.runner, **got}
            with self._lock:
                if self._out is None:
                    return
                try:
                    self._out.write(json.dumps(record) + "\n")
                    self._out.flush()
                except OSError:  # the run folder vanished: sampling is best effort, the run goes on
                    return


@contextlib.contextmanager
def sampling(probes: Sequence[Probe], run_dir: Path) -> Iterator[GeneratorSampler | None]:
    """Sample for the duration of the ``with`` block; never lets sampling fail a run."""
    sampler: GeneratorSampler | None
    try:
        sampler = GeneratorSampler(probes, run_dir).start()
    except OSError:
        sampler = None
    try:
        yield sampler
    finally:
        if sampler is not None:
            sampler.stop()


__all__ = ["ContainerProbe", "GeneratorSampler", "Probe", "ProcessProbe", "SAMPLE_INTERVAL_S", "sampling"]
