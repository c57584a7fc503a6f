"""Every file a user hands novaload is read within bounds: size, nesting depth and, for
YAML, the number of nodes its aliases expand to.

A YAML "billion laughs" (aliases of aliases) is a few hundred bytes that expands to
10^9 nodes; a JSON document nested 100,000 levels deep makes any recursive parser or
walker raise ``RecursionError``. Both must be one line naming the file, exit 2, in
bounded time and memory. So, for every format:

* the file's size is checked before it is read (``Bounds.max_bytes``);
* JSON nesting is measured on the text, without recursion, before ``json.loads``;
* YAML is composed by :func:`load_yaml` from the parser's events (a loop, not
  PyYAML's recursive composer), counting the nodes each alias stands for without
  building them: a document whose expansion passes ``Bounds.max_nodes``, or that
  nests deeper than ``Bounds.max_depth``, is refused at the event that passes it.

The bounds of each format are named here (``CONFIG``, ``OPENAPI``, ...) and documented
with the format. Errors are raised as the caller's error class (``ConfigError`` for
``configs/``, ``InputError`` for the rest), both exit 2.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from novaload.errors import InputError, NovaloadError

KIB = 1024
MIB = 1024 * KIB


@dataclass(frozen=True)
class Bounds:
    """What one input format may be: its size, nesting and expanded size."""

    max_bytes: int
    max_depth: int
    # YAML: nodes after alias expansion (each scalar, sequence and mapping counts one).
    max_nodes: int


# configs/ (environments, profiles.yaml, scenarios), suite files, compare.yaml.
CONFIG = Bounds(max_bytes=4 * MIB, max_depth=64, max_nodes=100_000)
# OpenAPI documents (YAML or JSON, a file or a URL); $ref expansion has its own bound
# (importers/openapi.py).
OPENAPI = Bounds(max_bytes=64 * MIB, max_depth=128, max_nodes=2_000_000)
# HAR recordings (JSON), and a recorded JSON body inside one.
HAR = Bounds(max_bytes=512 * MIB, max_depth=64, max_nodes=0)
# --thresholds files (YAML or JSON).
THRESHOLDS = Bounds(max_bytes=1 * MIB, max_depth=16, max_nodes=10_000)
# --k6-summary files (--summary-export or handleSummary's data, JSON).
K6_SUMMARY = Bounds(max_bytes=256 * MIB, max_depth=32, max_nodes=0)
# One line of k6's JSON output (a Metric or Point object).
K6_LINE = Bounds(max_bytes=1 * MIB, max_depth=32, max_nodes=0)


def _fail(error: type[NovaloadError], where: str, message: str) -> NovaloadError:
    return error(f"{where}: {message}")


def read_text(
    path: Path, bounds: Bounds, *, what: str = "file", error: type[NovaloadError] = InputError
) -> str:
    """The UTF-8 text of ``path``, refused past ``bounds.max_bytes`` before it is read."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise _fail(error, str(path), f"{what} not found") from None
    except OSError as exc:
        raise _fail(error, str(path), f"cannot read {what}: {exc.strerror}") from None
    if size > bounds.max_bytes:
        raise _fail(error, str(path), f"{what} too large ({size:,} bytes; at most {bounds.max_bytes:,})")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise _fail(error, str(path), f"cannot read {what}: {exc.strerror}") from None
    return decode(raw, str(path), bounds, what=what, error=error)


def decode(
    raw: bytes, where: str, bounds: Bounds, *, what: str = "file", error: type[NovaloadError] = InputError
) -> str:
    """``raw`` as UTF-8 text (a BOM dropped), refused past the size bound."""
    if len(raw) > bounds.max_bytes:
        raise _fail(error, where, f"{what} too large ({len(raw):,} bytes; at most {bounds.max_bytes:,})")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise _fail(
            error,
            where,
            f"line {line}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start})",
        ) from None


# JSON strings (with their escapes) are dropped before brackets are counted.
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")


def json_depth_over(text: str | bytes, limit: int) -> int | None:
    """The offset-free answer to "does this JSON nest deeper than ``limit``?": the depth
    reached past the limit, or ``None``. A loop over brackets outside strings (no
    recursion); malformed text is left to the parser to name."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    if text.count("[") + text.count("{") <= limit:
        return None
    brackets = _NOT_BRACKET.sub("", _JSON_STRING.sub("", text))
    depth = 0
    for ch in brackets:
        if ch in "[{":
            depth += 1
            if depth > limit:
                return depth
        else:
            depth -= 1
    return None


def load_json(
    text: str | bytes,
    where: str,
    bounds: Bounds,
    *,
    what: str = "JSON",
    error: type[NovaloadError] = InputError,
) -> Any:
    """``json.loads`` within ``bounds``; a syntax error names the line and column."""
    if len(text) > bounds.max_bytes:
        raise _fail(error, where, f"{what} too large ({len(text):,} bytes; at most {bounds.max_bytes:,})")
    if json_depth_over(text, bounds.max_depth) is not None:
        raise _fail(error, where, f"{what} nested deeper than {bounds.max_depth} levels")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise _fail(
            error, where, f"invalid {what} at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    except (ValueError, RecursionError) as exc:  # bad UTF-8 in bytes; the depth check is exact
        raise _fail(error, where, f"invalid {what}: {str(exc)[:200]}") from None


def load_yaml(
    text: str, where: str, bounds: Bounds, *, what: str = "YAML", error: type[NovaloadError] = InputError
) -> Any:
    """One YAML document (``yaml.safe_load``'s types) within ``bounds``.

    Composed from the parser's events in a loop, so neither depth nor aliases recurse;
    each node's expanded size (an alias counts the whole of what it names) is known when
    the node closes, and the document is refused as soon as it passes ``max_nodes``.
    """
    import yaml
    from yaml import nodes as yn

    if len(text) > bounds.max_bytes:
        raise _fail(error, where, f"{what} too large ({len(text):,} bytes; at most {bounds.max_bytes:,})")
    loader = yaml.SafeLoader("")  # its resolver (implicit tags) and constructor
    event_loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    def line_of(event: Any) -> str:
        mark = getattr(event, "start_mark", None)
        return f"line {mark.line + 1}: " if mark is not None else ""

    anchors: dict[str, yn.Node] = {}
    size: dict[int, int] = {}  # id(node) -> expanded node count, once the node is closed
    # Open collections: (node, its expanded size so far, the mapping key waiting for a value)
    stack: list[list[Any]] = []
    root: yn.Node | None = None
    documents = 0

    def attach(node: yn.Node, count: int, event: Any) -> None:
        nonlocal root
        if not stack:
            root = node
            return
        top = stack[-1]
        top[1] += count
        if top[1] > bounds.max_nodes:
            raise _fail(
                error,
                where,
                f"{line_of(event)}{what} expands to more than {bounds.max_nodes:,} nodes "
                "(aliases of aliases: a YAML bomb?)",
            )
        parent = top[0]
        if isinstance(parent, yn.SequenceNode):
            parent.value.append(node)
        elif top[2] is None:
            top[2] = node
        else:
            parent.value.append((top[2], node))
            top[2] = None

    def anchor(event: Any, node: yn.Node) -> None:
        if event.anchor is not None:
            if event.anchor in anchors:  # as yaml.safe_load refuses it
                raise _fail(error, where, f"{line_of(event)}found duplicate anchor {event.anchor[:80]!r}")
            anchors[event.anchor] = node

    try:
        events: Iterable[Any] = yaml.parse(text, Loader=event_loader)  # marks: C or Python ones
        for event in events:
            e: Any = event  # attributes read through Any: libyaml's marks are not yaml.Mark
            if isinstance(event, yaml.DocumentStartEvent):
                documents += 1
                if documents > 1:
                    raise _fail(error, where, f"{line_of(e)}expected a single YAML document")
            elif isinstance(event, yaml.ScalarEvent):
                tag = e.tag
                if tag is None or tag == "!":
                    tag = loader.resolve(yn.ScalarNode, e.value, e.implicit)
                node: yn.Node = yn.ScalarNode(tag, e.value, e.start_mark, e.end_mark, e.style)
                anchor(e, node)
                size[id(node)] = 1
                attach(node, 1, e)
            elif isinstance(event, yaml.AliasEvent):
                target = anchors.get(e.anchor)
                if target is None:
                    raise _fail(error, where, f"{line_of(e)}found undefined alias {e.anchor[:80]!r}")
                if id(target) not in size:
                    raise _fail(error, where, f"{line_of(e)}alias {e.anchor[:80]!r} refers to itself")
                attach(target, size[id(target)], e)
            elif isinstance(event, yaml.SequenceStartEvent | yaml.MappingStartEvent):
                if len(stack) >= bounds.max_depth:
                    raise _fail(
                        error, where, f"{line_of(e)}{what} nested deeper than {bounds.max_depth} levels"
                    )
                is_seq = isinstance(event, yaml.SequenceStartEvent)
                kind = yn.SequenceNode if is_seq else yn.MappingNode
                tag = e.tag
                if tag is None or tag == "!":
                    tag = loader.resolve(kind, None, e.implicit)
                node = kind(tag, [], e.start_mark, None, flow_style=e.flow_style)
                anchor(e, node)
                stack.append([node, 1, None])
            elif isinstance(event, yaml.SequenceEndEvent | yaml.MappingEndEvent):
                node, count, _ = stack.pop()
                node.end_mark = e.end_mark
                size[id(node)] = count
                attach(node, count, e)
        if root is None:
            return None
        if size.get(id(root), 0) > bounds.max_nodes:
            raise _fail(error, where, f"{what} expands to more than {bounds.max_nodes:,} nodes")
        return loader.construct_document(root)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f"line {mark.line + 1}: " if mark is not None else ""
        problem = str(getattr(exc, "problem", None) or str(exc).splitlines()[0])
        if "nesting depth" in problem:  # libyaml's own bound (1,000) came first
            raise _fail(error, where, f"{line}{what} nested deeper than {bounds.max_depth} levels") from None
        at = f" at line {mark.line + 1}" if mark is not None else ""
        raise _fail(error, where, f"invalid {what}{at}: {problem[:200]}") from None
    finally:
        loader.dispose()


__all__ = [
    "CONFIG",
    "HAR",
    "K6_LINE",
    "K6_SUMMARY",
    "OPENAPI",
    "THRESHOLDS",
    "Bounds",
    "decode",
    "json_depth_over",
    "load_json",
    "load_yaml",
    "read_text",
]
