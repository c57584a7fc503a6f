"""``run --traces``: trace context on every HTTP request of a run, script unchanged.

k6 runs a small entry script (``k6-traced.js`` in the run folder) instead of the run's
own script. It imports novaload's tracing module first (``k6-tracing.js``: ``tracing.js``
with the run's propagator and sampling ratio), which replaces ``k6/http``'s request
functions for the whole VU, then re-exports everything the script exports, its default
function included::

    import "./k6-tracing.js";
    export * from "file:///home/me/tests/script.js";
    import * as script from "file:///home/me/tests/script.js";
    export default script.default;

So k6 still resolves the script's own imports and ``open()`` relative to the script,
reads its ``options`` (``k6 inspect`` works on the entry script), and finds its
``setup``, ``teardown``, ``handleSummary`` and scenario functions; the Docker runner
mounts the script's folder as well, and the Kubernetes runner's ``k6 archive`` takes
all of it along. A script that instruments itself (k6's ``http-instrumentation-tempo``,
the former ``k6/experimental/tracing``, or its own ``trace_id`` metadata) is run as it is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from novaload.config.models import Environment, Scenario, Tracing
from novaload.config.tracing import PROPAGATORS
from novaload.errors import UsageError
from novaload.runfolder import K6_TRACED_SCRIPT, K6_TRACING_MODULE
from novaload.scenario.jsliteral import to_js

_MODULE_SOURCE = Path(__file__).with_name("tracing.js")
_PLACEHOLDER = "__NOVALOAD_TRACING__"
# What a script that traces itself contains (in it, or in a local module it imports).
_SELF_TRACING = re.compile(
    r"http-instrumentation-tempo|k6/experimental/tracing|\binstrumentHTTP\b"
    r"|metadata\s*(?:\[\s*[\"'`]trace_id[\"'`]\s*\]|\.trace_id)\s*="
)
_LOCAL_IMPORT = re.compile(
    r"""(?:\bfrom\s*|\bimport\s*\(?\s*|\brequire\s*\(\s*)["']((?:\.{1,2}/|/|file://)[^"'\n]+)["']"""
)
_MAX_FILES = 200  # local modules read when looking for a script's own tracing
_MAX_BYTES = 4 << 20


@dataclass(frozen=True, slots=True)
class TracedScript:
    """The two files a traced run adds to its run folder, and what k6 then runs."""

    entry: Path  # k6-traced.js: what k6 runs
    files: tuple[tuple[Path, bytes], ...]  # (path, content) to write into the run folder
    source_dir: Path  # the script's own folder (the Docker runner mounts it too)


def resolve(
    scenario: Scenario | None,
    environment: Environment | None,
    *,
    traces: bool | None = None,
    propagator: str | None = None,
    sampling: float | None = None,
) -> Tracing | None:
    """The run's tracing, or None: the scenario's ``tracing:``, else the environment's;
    ``traces`` (``--traces``/``--no-traces``) turns it on or off, ``propagator`` and
    ``sampling`` (which imply ``--traces``) replace the configured ones."""
    if propagator is not None and propagator not in PROPAGATORS:
        raise UsageError(f"--trace-propagator {propagator!r}: expected one of {', '.join(PROPAGATORS)}")
    if sampling is not None and not 0.0 <= sampling <= 1.0:
        raise UsageError(f"--trace-sampling {sampling!r}: expected a ratio from 0 to 1")
    configured = (scenario.tracing if scenario is not None else None) or (
        environment.tracing if environment is not None else None
    )
    wanted = traces if traces is not None else (True if propagator or sampling is not None else None)
    if wanted is False:
        return None
    if wanted is None and (configured is None or not configured.enabled):
        return None
    tracing = (configured or Tracing()).model_copy(update={"enabled": True})
    changes = {k: v for k, v in (("propagator", propagator), ("sampling", sampling)) if v is not None}
    return tracing.model_copy(update=changes) if changes else tracing


def instrumented_by(script: Path) -> Path | None:
    """The file (the script, or a local module it imports) that puts trace context on
    requests itself, or None. A file that cannot be read counts as not tracing."""
    seen: set[Path] = set()
    todo = [script.resolve()]
    while todo and len(seen) < _MAX_FILES:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        try:
            with path.open("rb") as fh:
                text = fh.read(_MAX_BYTES).decode("utf-8", "replace")
        except OSError:
            continue
        if _SELF_TRACING.search(text):
            return path
        for spec in _LOCAL_IMPORT.findall(text):
            target = (
                Path(spec.removeprefix("file://"))
                if spec.startswith(("/", "file://"))
                else path.parent / spec
            )
            todo.append(target.resolve())
    return None


def module_text(tracing: Tracing) -> str:
    """``k6-tracing.js``: the tracing module with the run's propagator and ratio (the run's
    id, its ``testid`` baggage entry, is read from ``NOVALOAD_RUN_ID`` when k6 runs, so the
    file is the same for every run with the same settings)."""
    source = _MODULE_SOURCE.read_text(encoding="utf-8")
    return source.replace(
        _PLACEHOLDER, to_js({"propagator": tracing.propagator, "sampling": tracing.sampling})
    )


def entry_text(script: Path) -> str:
    """``k6-traced.js``: the tracing module, then everything ``script`` exports."""
    url = to_js(script.resolve().as_uri())
    return (
        f"// novaload run --traces: {to_js(script.name)} with trace context on every request "
        f"({K6_TRACING_MODULE}).\n"
        f'import "./{K6_TRACING_MODULE}";\n'
        f"export * from {url};\n"
        f"import * as script from {url};\n"
        "export default script.default;\n"
    )


def traced_script(script: Path, run_dir: Path, tracing: Tracing) -> TracedScript:
    """The entry script around ``script`` (which stays where it is) and the module."""
    entry = run_dir / K6_TRACED_SCRIPT
    return TracedScript(
        entry=entry,
        files=(
            (run_dir / K6_TRACING_MODULE, module_text(tracing).encode("utf-8")),
            (entry, entry_text(script).encode("utf-8")),
        ),
        source_dir=script.resolve().parent,
    )


__all__ = ["TracedScript", "entry_text", "instrumented_by", "module_text", "resolve", "traced_script"]
