"""``k6 run``'s command line: its flags, parsed as k6 parses them, and the ones novaload owns.

A user's k6 arguments (``novaload run SCRIPT -- K6_ARGS``) are handed to ``k6 run`` as
written, for every runner. They are parsed here first, with the table of ``k6 run``'s
flags (k6 v1.1's ``internal/cmd/{options,runtime_options,config,root}.go``, and the few
that k6 2.x added or removed), the way k6's flag library (spf13/pflag) reads them:
``--name value``, ``--name=value``, ``-u 5``, ``-u5``, ``-u=5``, bundled booleans
``-qw``, a boolean's ``--flag=false``, and ``--http-debug[=full]`` whose value is only
ever given with ``=``. So a mistake k6 would stop at (an unknown flag, a missing value, a
tag without ``=``) is refused before a run folder is claimed, in one line.

Then :func:`for_run` holds them against what novaload passes to k6 itself (each runner's
``--out json``, ``--summary-export``, ``--address``, ``--quiet``, the execution segments,
``--paused``, ``--tag testid=``/``instance_id=``): a flag novaload already passes the same
way is merged (``--quiet``), one that would fight it is refused, naming the novaload
option that does it. :func:`split_env_option` and :func:`split_out_option` decide what a
k6 user's ``-e`` and ``-o`` mean in front of ``--`` (see ``docs/scripts.md``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from novaload.errors import UsageError

BOOL, VALUE, OPTIONAL = "bool", "value", "optional"

_GO_BOOLS = {"1", "t", "T", "TRUE", "true", "True", "0", "f", "F", "FALSE", "false", "False"}
_GO_DURATION = re.compile(r"^[-+]?(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+$")
_ENV_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")  # k6's userEnvVarName
# An output named by `-o`: a built-in, or NAME=CONFIG (extensions have their own names).
BUILTIN_OUTPUTS = (
    "cloud",
    "csv",
    "datadog",
    "experimental-opentelemetry",
    "experimental-prometheus-rw",
    "influxdb",
    "json",
    "kafka",
    "opentelemetry",
    "statsd",
    "summary",
    "web-dashboard",
)
_OUTPUT_WITH_CONFIG = re.compile(r"^[a-z][a-z0-9_-]*=")
# Outputs whose CONFIG is a file path (``json=FILE``, ``csv=FILE``): on the machine k6 runs on.
FILE_OUTPUTS = ("json", "csv")


class K6ArgsError(UsageError):
    """A k6 argument k6 would reject, or one that conflicts with what novaload passes."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(f"k6 arguments: {message}", hint=hint)


def _int(value: str) -> str | None:
    try:
        int(value, 0)  # pflag's Int64: strconv.ParseInt(s, 0, 64)
    except ValueError:
        return "is not a whole number"
    return None


def _duration(value: str) -> str | None:
    return (
        None if value == "0" or _GO_DURATION.match(value) else "is not a duration such as 30s, 1m30s or 500ms"
    )


_GO_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_GO_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")


def go_duration_seconds(value: str) -> float | None:
    """A Go duration (``1m30s``, ``500ms``, ``0``), as k6's ``time.ParseDuration`` reads it,
    in seconds; None when it is not one."""
    if _duration(value) is not None:
        return None
    sign = -1.0 if value.startswith("-") else 1.0
    return sign * sum(float(n) * _GO_UNITS[u] for n, u in _GO_PART.findall(value))


def _bool(value: str) -> str | None:
    return None if value in _GO_BOOLS else "is not true or false"


def _tag(value: str) -> str | None:
    name, sep, _ = value.partition("=")
    return None if sep and name else "should be NAME=VALUE"


def _env(value: str) -> str | None:
    name = value.partition("=")[0]
    return None if _ENV_NAME.match(name) else f"{name!r} is not a variable name (letters, digits, _)"


def _stage(value: str) -> str | None:
    return None if ":" in value else "should be DURATION:TARGET, e.g. 30s:10"


def _one_of(*choices: str) -> Callable[[str], str | None]:
    def check(value: str) -> str | None:
        return None if value in choices else f"is not one of {', '.join(choices)}"

    return check


def _not_empty(value: str) -> str | None:
    return None if value else "is empty"


@dataclass(frozen=True, slots=True)
class K6Flag:
    """One flag of ``k6 run``."""

    name: str  # the long name, without dashes
    short: str | None = None
    kind: str = VALUE  # BOOL, VALUE, or OPTIONAL (a value only after "=": --http-debug=full)
    check: Callable[[str], str | None] | None = None  # what is wrong with a value, or None
    since: tuple[int, int] = (1, 0)  # the k6 version (major, minor) that added it
    removed: tuple[int, int] | None = None  # the one that removed it
    path: bool = False  # its value is a file path on the machine k6 runs on

    @property
    def long(self) -> str:
        return f"--{self.name}"

    def exists_in(self, version: tuple[int, int]) -> bool:
        return self.since <= version and (self.removed is None or version < self.removed)


FLAGS: tuple[K6Flag, ...] = (
    # options.go: the test's options
    K6Flag("vus", "u", check=_int),
    K6Flag("duration", "d", check=_duration),
    K6Flag("iterations", "i", check=_int),
    K6Flag("stage", "s", check=_stage),
    K6Flag("execution-segment"),
    K6Flag("execution-segment-sequence"),
    K6Flag("paused", "p", BOOL),
    K6Flag("no-setup", kind=BOOL),
    K6Flag("no-teardown", kind=BOOL),
    K6Flag("max-redirects", check=_int),
    K6Flag("batch", check=_int),
    K6Flag("batch-per-host", check=_int),
    K6Flag("rps", check=_int),
    K6Flag("user-agent"),
    K6Flag("http-debug", kind=OPTIONAL, check=_one_of("headers", "full")),
    K6Flag("insecure-skip-tls-verify", kind=BOOL),
    K6Flag("no-connection-reuse", kind=BOOL),
    K6Flag("no-vu-connection-reuse", kind=BOOL),
    K6Flag("min-iteration-duration", check=_duration),
    K6Flag("throw", "w", BOOL),
    K6Flag("blacklist-ip"),
    K6Flag("block-hostnames"),
    K6Flag("summary-trend-stats", check=_not_empty),
    K6Flag("summary-time-unit", check=_one_of("s", "ms", "us")),
    K6Flag("system-tags"),
    K6Flag("tag", check=_tag),
    K6Flag("console-output", path=True),
    K6Flag("discard-response-bodies", kind=BOOL),
    K6Flag("local-ips"),
    K6Flag("dns"),
    # runtime_options.go
    K6Flag("include-system-env-vars", kind=BOOL),
    K6Flag("compatibility-mode"),
    K6Flag("type", "t", check=_one_of("js", "archive")),
    K6Flag("env", "e", check=_env),
    K6Flag("no-thresholds", kind=BOOL),
    K6Flag("no-summary", kind=BOOL, removed=(2, 0)),
    K6Flag("summary-mode", check=_one_of("compact", "full", "legacy", "disabled")),
    K6Flag("summary-export", path=True),
    K6Flag("new-machine-readable-summary", kind=BOOL, since=(1, 5)),
    K6Flag("traces-output"),
    # config.go
    K6Flag("out", "o", check=_not_empty),
    K6Flag("linger", "l", BOOL),
    K6Flag("no-usage-report", kind=BOOL),
    K6Flag("features", since=(2, 1)),
    # root.go: k6's global flags
    K6Flag("address", "a"),
    K6Flag("config", "c", path=True),
    K6Flag("log-format"),
    K6Flag("log-output"),
    K6Flag("no-color", kind=BOOL),
    K6Flag("profiling-enabled", kind=BOOL),
    K6Flag("quiet", "q", BOOL),
    K6Flag("secret-source"),
    K6Flag("verbose", "v", BOOL),
)
_BY_LONG = {f.name: f for f in FLAGS}
_BY_SHORT = {f.short: f for f in FLAGS if f.short}


def flag(name: str) -> K6Flag:
    """The flag called ``name`` (``"vus"``, ``"--vus"`` or ``"-u"``); KeyError if k6 has none."""
    if name.startswith("--"):
        return _BY_LONG[name[2:]]
    if name.startswith("-"):
        return _BY_SHORT[name[1:]]
    return _BY_LONG[name]


def is_k6_flag(option: str) -> bool:
    """Whether ``option`` (``--tag``, ``-i``, ``--http-debug=full``) names a flag of ``k6 run``."""
    name = option.split("=", 1)[0]
    try:
        flag(name)
    except KeyError:
        return False
    return True


@dataclass(frozen=True, slots=True)
class K6Option:
    """One flag as given: ``value`` is None for a bare boolean or ``--http-debug``."""

    flag: K6Flag
    value: str | None
    tokens: tuple[str, ...]  # as written, e.g. ("-u", "5") or ("--http-debug=full",)

    @property
    def enabled(self) -> bool:
        """A boolean flag's meaning: ``--flag`` and ``--flag=true`` are on, ``=false`` off."""
        return self.value is None or self.value in ("1", "t", "T", "TRUE", "true", "True")


@dataclass(frozen=True, slots=True)
class K6Args:
    """A user's ``k6 run`` arguments, parsed; :attr:`argv` gives them back as written."""

    options: tuple[K6Option, ...] = ()
    argv: tuple[str, ...] = field(default=())

    def given(self, name: str) -> list[K6Option]:
        wanted = flag(name)
        return [o for o in self.options if o.flag is wanted]

    def values(self, name: str) -> list[str]:
        return [o.value for o in self.given(name) if o.value is not None]

    def last(self, name: str) -> str | None:
        """The value k6 uses for a flag given several times (pflag: the last one)."""
        found = self.values(name)
        return found[-1] if found else None

    def enabled(self, name: str) -> bool:
        """A boolean flag's value as k6 reads it (the last one given wins)."""
        found = self.given(name)
        return bool(found) and found[-1].enabled

    def keeping(self, keep: Callable[[K6Option], bool]) -> K6Args:
        """These arguments with only the options ``keep`` accepts."""
        kept = tuple(o for o in self.options if keep(o))
        return K6Args(kept, tuple(t for o in kept for t in o.tokens))

    def without(self, *names: str) -> K6Args:
        """These arguments less every occurrence of the named flags."""
        drop = {flag(n) for n in names}
        return self.keeping(lambda o: o.flag not in drop)

    def __add__(self, other: K6Args) -> K6Args:
        return K6Args(self.options + other.options, self.argv + other.argv)


def _bundle_error(arg: str, char: str) -> K6ArgsError:
    return K6ArgsError(f"unknown shorthand flag {char!r} in {arg}", hint=_HELP)


_HELP = "`k6 run --help` lists k6's flags"


def parse(argv: Sequence[str], *, k6_version: tuple[int, int] | None = None) -> K6Args:
    """``argv`` (what follows ``novaload run SCRIPT --``) parsed as ``k6 run`` parses it.

    ``k6_version``: the k6 binary's (major, minor), if known: a flag it does not have yet,
    or no longer, is refused here instead of by k6 at start.
    Raises :class:`K6ArgsError` (exit 2) on anything k6 would refuse, and on a script or
    any other positional argument (novaload passes the script itself).
    """
    options: list[K6Option] = []
    args = list(argv)
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg == "--" or not arg.startswith("-") or arg == "-":
            raise K6ArgsError(
                f"{arg!r} is not a flag: novaload passes the script itself (novaload run SCRIPT -- FLAGS)"
            )
        if arg.startswith("--"):
            name, eq, inline = arg[2:].partition("=")
            found = _BY_LONG.get(name)
            if found is None:
                raise K6ArgsError(f"unknown flag --{name}", hint=_HELP)
            if found.kind == VALUE and not eq:
                if i >= len(args):
                    raise K6ArgsError(f"--{name} needs a value")
                value: str | None = args[i]
                tokens: tuple[str, ...] = (arg, args[i])
                i += 1
            else:
                value, tokens = (inline if eq else None), (arg,)
            options.append(_checked(found, value, tokens, arg, k6_version))
            continue
        # Shorthands: "-qw" (bundled booleans), "-u5", "-u=5", "-u 5".
        chars, group = arg[1:], []
        while chars:
            found = _BY_SHORT.get(chars[0])
            if found is None:
                raise _bundle_error(arg, chars[0])
            rest, took_next = chars[1:], False
            if rest.startswith("="):
                value, chars = rest[1:], ""
            elif found.kind != VALUE:
                value, chars = None, rest
            elif rest:
                value, chars = rest, ""
            elif i < len(args):
                value, chars, took_next = args[i], "", True
                i += 1
            else:
                raise K6ArgsError(f"-{found.short} (--{found.name}) needs a value")
            short = f"-{found.short}"
            as_given: tuple[str, ...] = (
                (short, str(value)) if took_next else (short + (f"={value}" if value is not None else ""),)
            )
            group.append(_checked(found, value, as_given, arg, k6_version))
        if len(group) == 1:  # one flag: its tokens exactly as written
            only = group[0]
            group = [K6Option(only.flag, only.value, (arg, *only.tokens[1:]))]
        options += group
    return K6Args(tuple(options), tuple(argv))


def _checked(
    found: K6Flag, value: str | None, tokens: tuple[str, ...], arg: str, k6_version: tuple[int, int] | None
) -> K6Option:
    shown = found.long if arg.startswith("--") else f"-{found.short} ({found.long})"
    if k6_version is not None and not found.exists_in(k6_version):
        this = ".".join(map(str, k6_version))
        if found.removed is not None and k6_version >= found.removed:
            raise K6ArgsError(
                f"{found.long} was removed in k6 {'.'.join(map(str, found.removed))}; this k6 is {this}"
            )
        raise K6ArgsError(
            f"{found.long} needs k6 {'.'.join(map(str, found.since))} or later; this k6 is {this}"
        )
    problem = _bool(value) if found.kind == BOOL and value is not None else None
    if problem is None and value is not None and found.check is not None:
        problem = found.check(value)
    if problem is not None:
        raise K6ArgsError(f"{shown} {value!r}: {problem}")
    return K6Option(found, value, tokens)


def k6_version(version: str | None) -> tuple[int, int] | None:
    """``(1, 1)`` from ``v1.1.0`` (None when unknown, e.g. a custom build's odd version)."""
    match = re.match(r"v?(\d+)\.(\d+)", version or "")
    return (int(match.group(1)), int(match.group(2))) if match else None


# --- what the flags in front of `--` mean -------------------------------------------------


def split_env_option(values: Iterable[str]) -> tuple[str | None, tuple[str, ...]]:
    """``-e``/``--env`` in front of ``--``: ``KEY=VALUE`` is k6's ``-e`` (a variable for
    the script's ``__ENV``), a bare name is novaload's environment (configs/environments.yaml,
    whose names never hold "="). Returns the environment and k6's ``-e`` arguments."""
    environment: str | None = None
    k6: list[str] = []
    for value in values:
        if "=" in value:
            problem = _env(value)
            if problem is not None:
                raise UsageError(f"-e {value!r}: {problem}")
            k6 += ["-e", value]
        elif environment not in (None, value):
            raise UsageError(
                f"-e {environment} and -e {value}: one environment per run "
                "(a variable for the script is -e KEY=VALUE)"
            )
        else:
            environment = value
    return environment, tuple(k6)


def is_output(value: str) -> bool:
    """Whether ``-o VALUE`` names a k6 output (``json=FILE``, ``influxdb=URL``, ``web-dashboard``)."""
    return value in BUILTIN_OUTPUTS or bool(_OUTPUT_WITH_CONFIG.match(value))


def split_out_option(values: Iterable[str]) -> tuple[str | None, tuple[str, ...]]:
    """``-o``/``--out`` in front of ``--``: a k6 output (see :func:`is_output`) is k6's
    ``--out``; anything else is a folder, novaload's ``--out-dir`` (as ``-o`` always was).
    Returns the folder and k6's ``--out`` arguments."""
    folder: str | None = None
    k6: list[str] = []
    for value in values:
        if is_output(value):
            k6 += ["--out", value]
        elif folder not in (None, value):
            raise UsageError(
                f"-o {folder} and -o {value}: one run folder per run; neither is a k6 output "
                f"({', '.join(BUILTIN_OUTPUTS[:4])}, … or NAME=CONFIG)"
            )
        else:
            folder = value
    return folder, tuple(k6)


# --- the arguments novaload passes itself ----------------------------------------------

# Flags whose job novaload does itself, and the reason a user's own would fight it.
_REFUSED = {
    "address": "novaload starts k6's REST API itself, on a free loopback port (its progress display reads it)",
    "linger": "k6 would keep running after the test; novaload waits for k6 to exit",
    "paused": "novaload starts the test itself (a split run starts paused and is released together)",
    "execution-segment": "use --parallelism N: novaload splits the test into execution segments itself",
    "execution-segment-sequence": "use --parallelism N: novaload splits the test into execution segments itself",
}
# Tags novaload sets on every sample: a user's own would relabel them.
_RUN_TAGS = {"testid": "the run id (dashboards and shared outputs tell runs apart by it)"}
_K8S_TAGS = {"instance_id": "the runner's number", "testrun_name": "the TestRun's name (k6-operator)"}
# Merged: novaload passes them already, the same way.
_MERGED = ("quiet",)
# What a scenario's profile decides; k6's shortcut would replace the rendered executors.
_PROFILE_FLAGS = ("iterations", "stage")


def for_run(
    args: K6Args, *, runner: str, parallelism: int, scenario: bool, dashboard: bool = False
) -> K6Args:
    """The user's arguments as they go to k6 beside novaload's own, for this run.

    Refuses (:class:`K6ArgsError`, exit 2) a flag novaload passes itself in another way,
    a tag it sets, ``--iterations``/``--stage`` on a scenario (its profile is the load),
    ``--summary-export`` on a split run (each instance would write a part), and a local
    file path on the Kubernetes runner (the pods cannot reach this machine's files).
    Drops what novaload passes anyway (``--quiet``). ``--vus``, ``--duration`` and
    ``--summary-trend-stats`` are left in: the caller merges them with novaload's options.
    ``--out web-dashboard`` is refused beside novaload's ``--dashboard`` (k6 would start a
    second dashboard on the same port) and on a split run (every instance would take one port).
    """
    for option in args.options:
        name = option.flag.name
        if name == "out" and (option.value or "").partition("=")[0] == "web-dashboard":
            if dashboard:
                raise K6ArgsError(
                    "--out web-dashboard beside --dashboard: k6 would start a second dashboard on the "
                    "same port; --dashboard is k6's (--dashboard-host, --dashboard-port)"
                )
            if parallelism > 1:
                raise K6ArgsError(
                    "--out web-dashboard on a split run: every k6 instance would listen on one port; "
                    "--dashboard gives each its own (port + i)"
                )
        if name in _REFUSED:
            raise K6ArgsError(f"{option.flag.long}: {_REFUSED[name]}")
        if name == "tag" and option.value is not None:
            key = option.value.partition("=")[0]
            owned = {**_RUN_TAGS, **(_K8S_TAGS if runner == "k8s" else {})}
            if key in owned:
                raise K6ArgsError(f"--tag {key}=…: novaload tags every sample with {key}, {owned[key]}")
        if scenario and name in _PROFILE_FLAGS:
            raise K6ArgsError(
                f"{option.flag.long}: a scenario's load is its profile (--profile, --vus, --duration); "
                "k6's shortcut would replace its executors (run your own script to use it)"
            )
        if name == "summary-export" and parallelism > 1:
            raise K6ArgsError(
                "--summary-export on a split run: each k6 instance would write its own part; "
                "summary.json in the run folder has the whole run's figures"
            )
        if runner == "k8s" and name != "summary-export" and local_path(option):
            raise K6ArgsError(
                f"{' '.join(option.tokens)}: the Kubernetes runner's pods cannot read or write this "
                "machine's files (novaload brings k6's results back into the run folder itself)"
            )
    return args.without(*_MERGED)


def local_path(option: K6Option) -> str | None:
    """The file an option has k6 read or write on its own machine (``--config FILE``,
    ``--out json=FILE``, ``--log-output=file=FILE``), or None. ``"."`` stands for a
    default file k6 picks in its working directory (``--log-output=file``)."""
    value = option.value or ""
    if option.flag.path:
        return value or None
    kind, eq, rest = value.partition("=")
    if option.flag.name == "out" and kind in FILE_OUTPUTS and eq:
        return rest
    if option.flag.name in ("log-output", "secret-source") and kind == "file":
        path = next((p[5:] for p in rest.split(",") if p.startswith("path=")), rest)
        return path if path and "=" not in path else "."
    return None


def sends_samples(argv: Sequence[str]) -> bool:
    """Whether ``argv`` (k6 arguments) send samples to an output (``--out``/``-o``)."""
    try:
        return bool(parse(argv).given("out"))
    except UsageError:  # not a user's arguments: look for the flag itself
        return any(a in ("-o", "--out") or a.startswith(("--out=", "-o")) for a in argv)


__all__ = [
    "BUILTIN_OUTPUTS",
    "FLAGS",
    "K6Args",
    "K6ArgsError",
    "K6Flag",
    "K6Option",
    "flag",
    "for_run",
    "go_duration_seconds",
    "is_k6_flag",
    "is_output",
    "local_path",
    "k6_version",
    "parse",
    "sends_samples",
    "split_env_option",
    "split_out_option",
]
