"""Recognising k6 result files and locating their bad lines.

A source is recognised by content, not name: gzip by its magic bytes, k6 JSON by a
first line ``{"type":"Metric"|"Point",...}``, k6 CSV by its ``metric_name,timestamp,
metric_value`` header. The head of a JSON file is also read for what the single
DuckDB pass needs beforehand: the first sample time (origin of the time windows).

Finding *which* line is bad is the slow path (Python, line by line); it runs only
after the DuckDB pass has counted invalid lines, to name them in messages.
"""

from __future__ import annotations

import gzip
import io
import json
import math
import os
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from novaload.errors import InputError
from novaload.inputs import K6_LINE, json_depth_over

HEAD_BYTES = 1 << 20
CSV_HEADER = "metric_name,timestamp,metric_value"
K6_LINE_TYPES = ("Metric", "Point")


@dataclass(frozen=True, slots=True)
class Source:
    path: Path
    format: str  # "json" | "csv"
    gzip: bool
    first_us: int | None  # first Point time in the head (epoch µs)
    csv_columns: tuple[str, ...] = ()

    @property
    def compression(self) -> str:
        return "gzip" if self.gzip else "none"


class EmptyResultsError(InputError):
    """A results file with no content (e.g. a k6 instance whose segment got no VUs)."""


def open_bytes(path: Path, is_gzip: bool) -> io.BufferedIOBase:
    return gzip.open(path, "rb") if is_gzip else path.open("rb")


def _gzip_head(path: Path) -> bytes:
    """The first ``HEAD_BYTES`` of a gzip file's text; a stream cut short gives what it
    holds (a damaged one raises ``zlib.error``)."""
    out = bytearray()
    dec = zlib.decompressobj(wbits=31)
    with path.open("rb") as fh:
        while len(out) < HEAD_BYTES:
            data = dec.unconsumed_tail or fh.read(1 << 16)
            if dec.eof:  # the next member, if any
                data, dec = dec.unused_data + data, zlib.decompressobj(wbits=31)
                if not data.lstrip(b"\x00"):
                    break
            if not data:
                break
            out += dec.decompress(data, HEAD_BYTES - len(out))
    return bytes(out)


def _plain_head(path: Path) -> bytes:
    """The first ``HEAD_BYTES`` of a plain file: read as much, never the whole file (a
    results file is gigabytes)."""
    with path.open("rb") as fh:
        return fh.read(HEAD_BYTES)


def sniff(path: Path) -> Source:
    """Recognise one source; ``InputError`` for missing, empty or foreign files."""
    path = Path(path)
    try:
        with path.open("rb") as fh:
            magic = fh.read(2)
    except FileNotFoundError:
        raise InputError(f"{path}: results file not found") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read results file: {exc.strerror}") from None
    is_gzip = magic == b"\x1f\x8b"
    try:
        head = _gzip_head(path) if is_gzip else _plain_head(path)
    except (OSError, zlib.error) as exc:
        raise InputError(f"{path}: cannot read gzip data: {exc}") from None
    if not head.strip():
        raise EmptyResultsError(f"{path}: results file is empty (did k6 write any output?)")
    first = head.split(b"\n", 1)[0].strip()
    if first.startswith(CSV_HEADER.encode()):
        cols = tuple(first.decode("utf-8", "replace").split(","))
        return Source(path, "csv", is_gzip, None, cols)
    if not _is_k6_line(first):
        raise InputError(
            f"{path}: not k6 JSON or CSV output (line 1 is not a k6 Metric/Point object: {_preview(first)})"
        )
    return Source(path, "json", is_gzip, _first_point_us(head))


def _preview(raw: bytes) -> str:
    text = raw[:60].decode("utf-8", "replace")
    return repr(text + ("…" if len(raw) > 60 else ""))


def _is_k6_line(raw: bytes) -> bool:
    return validate_line(raw) is None


def validate_line(raw: bytes) -> str | None:
    """Why ``raw`` is not a k6 JSON output line, or ``None`` if it is one."""
    if json_depth_over(raw, K6_LINE.max_depth) is not None:
        return f"nested deeper than {K6_LINE.max_depth} levels"
    try:
        obj = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        return f"invalid JSON ({exc})"
    if not isinstance(obj, dict) or obj.get("type") not in K6_LINE_TYPES:
        return "not a k6 Metric/Point object"
    data = obj.get("data")
    if not isinstance(obj.get("metric"), str) or not isinstance(data, dict):
        return "missing 'metric' or 'data'"
    if obj["type"] == "Point":
        if not isinstance(data.get("value"), (int, float)) or not isinstance(data.get("time"), str):
            return "Point without numeric 'value' or 'time'"
        if not _finite(data["value"]):
            return f"value {data['value']!r:.40} is not a finite number"
        if parse_time_us(data["time"]) is None:
            return f"bad time {data['time']!r}"
    return None


def _finite(value: float) -> bool:
    try:
        return math.isfinite(value)
    except OverflowError:  # an int beyond a double
        return False


def parse_time_us(text: str) -> int | None:
    """RFC 3339 (nanoseconds allowed) → epoch microseconds (truncated)."""
    try:
        main, frac, zone = text, "", ""
        if "." in text:
            main, rest = text.split(".", 1)
            digits = len(rest) - len(rest.lstrip("0123456789"))
            frac, zone = rest[:digits], rest[digits:]
        else:
            main, zone = text[:19], text[19:]
        zone = "+00:00" if zone in ("Z", "z") else zone
        dt = datetime.fromisoformat(main + zone)
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=UTC)
        base = int(dt.timestamp()) * 1_000_000
        return base + int((frac + "000000")[:6])
    except ValueError:
        return None


def _first_point_us(head: bytes) -> int | None:
    for raw in head.split(b"\n")[:-1]:  # complete lines only
        if b'"Point"' not in raw:
            continue
        try:
            return parse_time_us(json.loads(raw)["data"]["time"])
        except (ValueError, KeyError, TypeError):
            return None
    return None


def iter_lines(src: Source) -> Iterator[tuple[int, bytes]]:
    with open_bytes(src.path, src.gzip) as fh:
        yield from enumerate(fh, 1)


# A gzip file that ends before its end-of-stream marker: k6 (or the runner pod streaming
# it) stopped mid-write. Its lines up to there are read, as a plain file's truncated tail.
GZIP_CUT_SHORT = "compressed stream ends before its end-of-stream marker"


def find_bad_lines(src: Source, *, limit: int) -> list[tuple[int, str, bool]]:
    """Up to ``limit`` invalid lines: (line number, reason, is_last_unterminated)."""
    found: list[tuple[int, str, bool]] = []
    try:
        for number, raw in iter_lines(src):
            if not raw.strip():
                continue
            reason = validate_line(raw)
            if reason is not None:
                found.append((number, reason, not raw.endswith(b"\n")))
                if len(found) >= limit:
                    break
    except EOFError:  # a gzip stream cut short: what it holds is whole lines and a partial one
        found.append((-1, GZIP_CUT_SHORT, True))
    except OSError as exc:
        found.append((-1, f"compressed stream is damaged: {exc}", True))
    return found


def tail_is_truncated(src: Source) -> bool:
    """Plain file whose last line has no newline and is not valid k6 JSON."""
    if src.gzip:
        return False
    size = src.path.stat().st_size
    with src.path.open("rb") as fh:
        fh.seek(max(0, size - (1 << 20)))
        tail = fh.read()
    if tail.endswith(b"\n"):
        return False
    return validate_line(tail.rsplit(b"\n", 1)[-1]) is not None


def uncompressed_size(src: Source) -> int:
    """Bytes of text read: the file size, or gzip's ISIZE trailer (mod 2**32)."""
    size = src.path.stat().st_size
    if not src.gzip:
        return size
    with src.path.open("rb") as fh:
        fh.seek(max(0, size - 4), os.SEEK_SET)
        tail = fh.read(4)
    return struct.unpack("<I", tail)[0] if len(tail) == 4 else size


__all__ = [
    "GZIP_CUT_SHORT",
    "Source",
    "find_bad_lines",
    "parse_time_us",
    "sniff",
    "tail_is_truncated",
    "uncompressed_size",
    "validate_line",
]
