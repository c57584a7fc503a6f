"""The local runner: k6 as a child process of novaload.

Process hygiene is the point of this module:

* k6 runs in its own process group, so a Ctrl-C in the terminal (sent to the
  foreground group) reaches novaload only; novaload forwards exactly one SIGINT
  (k6 stops gracefully, runs teardown, writes its summary) and kills k6 on a
  second Ctrl-C. A group, not a session: with the kernel's autogroup scheduling a
  new session is scheduled as a separate group, which halved k6's request rate
  against a local target on a busy machine (every request waits for two groups'
  turns instead of one).
* PR_SET_PDEATHSIG makes the kernel kill k6 if novaload itself dies (even by
  SIGKILL), and a ``finally`` kills and reaps it on any other exit path: no
  k6 process is ever left behind.
* Live figures come from k6's REST API (``--address`` on a free loopback
  port), never from parsing k6's output stream.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
from datetime import UTC, datetime
from typing import IO

from novaload.lifetime import die_with_parent
from novaload.redact import Redactor
from novaload.runfolder import K6_LOG, create_new_file
from novaload.runners.base import ExecutionPlan, K6Execution, ProgressCallback
from novaload.runners.console import LogCallback
from novaload.runners.health import ProcessProbe, sampling
from novaload.runners.k6api import K6ApiPoller
from novaload.runners.ports import free_port


class _Interrupts:
    """First SIGINT/SIGTERM → graceful stop of k6; second → kill."""

    def __init__(self, proc: subprocess.Popen[bytes], log: LogCallback) -> None:
        self.proc = proc
        self.log = log
        self.count = 0
        self._saved: dict[int, object] = {}

    def _handle(self, signum: int, _frame: object) -> None:
        self.count += 1
        if self.proc.poll() is not None:
            return
        if self.count == 1:
            self.log("interrupt: asking k6 to stop gracefully (press Ctrl-C again to kill it)")
            self.proc.send_signal(signal.SIGINT)
        else:
            self.log("second interrupt: killing k6")
            self.proc.kill()

    def __enter__(self) -> _Interrupts:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._saved[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._saved.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]


def _pump_output(
    stream: IO[bytes],
    log: IO[str] | None,
    lock: threading.Lock,
    redactor: Redactor,
    on_line: LogCallback | None,
    keep: list[str] | None = None,
) -> None:
    """Copy one of k6's streams to k6.log (secrets redacted); surface warnings and errors;
    ``keep`` collects the lines (k6's stdout: its end-of-test summary).

    This thread must drain the pipe until k6 closes it, whatever a line holds or a
    callback does: k6 blocks on a full pipe, and a run whose reader died would hang
    forever. A failing k6.log (disk full) stops the copy, a failing callback only loses
    that line; the reading goes on.
    """
    for raw in iter(stream.readline, b""):
        try:
            line = redactor(raw.decode("utf-8", "replace").rstrip("\n"))
            if log is not None:
                with lock:
                    log.write(line + "\n")
                    log.flush()
            if keep is not None:
                keep.append(line)
            elif on_line is not None and ("level=error" in line or "level=warning" in line):
                on_line(line)
        except Exception:  # noqa: BLE001 - keep draining: a lost line beats a hung k6
            continue


class LocalRunner:
    """Runs k6 as a subprocess on this machine (one instance)."""

    name = "local"

    def __init__(self, on_log: LogCallback | None = None) -> None:
        self.on_log = on_log or (lambda line: None)

    def check(self, image: str | None = None) -> None:
        return None  # the pipeline has already found a usable k6 binary

    def command(self, plan: ExecutionPlan, port: int) -> list[str]:
        run_dir = plan.run_dir
        return [
            plan.k6_binary,
            "run",
            str(plan.script),
            *plan.k6_args,
            "--out",
            f"json={run_dir / plan.results_name}",
            "--summary-export",
            str(run_dir / plan.summary_export_name),
            "--address",
            f"127.0.0.1:{port}",
            "--quiet",  # no progress bar in the stream: progress comes from the REST API
        ]

    def run(self, plan: ExecutionPlan, progress: ProgressCallback | None = None) -> K6Execution:
        if plan.parallelism > 1:
            from novaload.errors import UsageError

            raise UsageError("--parallelism > 1 needs --runner docker (one k6 per container)")
        plan.run_dir.mkdir(parents=True, exist_ok=True)
        port = free_port()
        env = {**os.environ, **plan.env, "NOVALOAD_K6_SUMMARY": str(plan.run_dir / plan.summary_name)}
        if plan.dashboard is not None:
            env.update(plan.dashboard.env(plan.run_dir, 0, 1))
        redactor = Redactor(plan.secrets)
        log_path = plan.run_dir / K6_LOG
        started = datetime.now(UTC)
        proc = subprocess.Popen(
            self.command(plan, port),
            env=env,
            cwd=plan.working_dir or plan.run_dir,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            process_group=0,  # see the module doc: not a new session
            preexec_fn=die_with_parent(signal.SIGKILL),
        )
        log: IO[str] | None
        try:
            log = create_new_file(log_path)  # never through a planted symlink
        except OSError:  # no k6.log (disk full, ...): the pipes are still drained
            log = None
        lock = threading.Lock()
        stdout_lines: list[str] = []
        pumps = [
            threading.Thread(
                target=_pump_output,
                daemon=True,
                args=(proc.stdout, log, lock, redactor, self.on_log, stdout_lines),
            ),
            threading.Thread(
                target=_pump_output, daemon=True, args=(proc.stderr, log, lock, redactor, self.on_log)
            ),
        ]
        for pump in pumps:
            pump.start()
        poller = K6ApiPoller([f"http://127.0.0.1:{port}"], progress, started) if progress else None
        interrupts = _Interrupts(proc, self.on_log)
        try:
            with interrupts, sampling([ProcessProbe(proc.pid)], plan.run_dir):
                if poller:
                    poller.start()
                # Blocked in waitpid, not polling: a signal still runs _Interrupts at
                # once (PEP 475), and no wake-up of ours takes a turn from k6.
                proc.wait()
        finally:
            if poller:
                poller.stop()
            if proc.poll() is None:  # an exception escaped: never leave k6 behind
                proc.kill()
            proc.wait()
            for pump in pumps:
                pump.join(timeout=5)
            if log is not None:
                with contextlib.suppress(OSError):
                    log.close()
        ended = datetime.now(UTC)
        summaries = [
            p
            for p in (plan.run_dir / plan.summary_name, plan.run_dir / plan.summary_export_name)
            if p.exists()
        ]
        return K6Execution(
            exit_codes=(proc.returncode if proc.returncode >= 0 else 128 - proc.returncode,),
            started_at=started,
            ended_at=ended,
            results_files=[plan.run_dir / plan.results_name],
            summary_files=summaries,
            log_file=log_path,
            interrupted=interrupts.count >= 1,
            killed=interrupts.count >= 2,
            stdout="\n".join(stdout_lines) + ("\n" if stdout_lines else ""),
        )


__all__ = ["LocalRunner"]
