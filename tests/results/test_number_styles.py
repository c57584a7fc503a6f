"""Both JSON number styles of k6's output give the same, exact figures.

k6 1.x writes a sample's value with Go's ``strconv.FormatFloat(v, 'g', -1, 64)``
(``1.234567e+06``, ``1e-07``); k6 2.x in plain decimals (``1234567``) with exponents only
outside [1e-6, 1e21). A real k6 output is rewritten in each style and ingested by both
engines: every figure is identical, and equal to k6's own export.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

import pytest

from novaload.results.ingest import ingest
from novaload.results.summary import summary_document

pytestmark = pytest.mark.k6
_VALUE = re.compile(r'("value":)(-?[0-9][0-9.eE+-]*)')


def _digits(v: float) -> tuple[str, int, str]:
    """Shortest round-trip digits of ``v``, its decimal exponent, its sign."""
    sign, digits, exp = Decimal(repr(v)).normalize().as_tuple()
    text = "".join(map(str, digits))
    assert isinstance(exp, int)
    return text, len(text) + exp - 1, "-" if sign else ""


def _exponent(text: str, x: int, sign: str, width: int) -> str:
    mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
    return f"{sign}{mantissa}e{'-' if x < 0 else '+'}{abs(x):0{width}d}"


def _plain(text: str, x: int, sign: str) -> str:
    if x < 0:
        return f"{sign}0.{'0' * (-x - 1)}{text}"
    if x + 1 >= len(text):
        return sign + text + "0" * (x + 1 - len(text))
    return f"{sign}{text[: x + 1]}.{text[x + 1 :]}"


def go_g(v: float) -> str:
    """k6 1.x: Go's 'g' format, shortest (exponent when x < -4 or x >= 21, else e+06 style at >= 1e6)."""
    if v == 0:
        return "0"
    text, x, sign = _digits(v)
    return _exponent(text, x, sign, 2) if x < -4 or x >= 6 else _plain(text, x, sign)


def plain(v: float) -> str:
    """k6 2.x: plain decimals, an exponent only below 1e-6 or from 1e21 on."""
    if v == 0:
        return "0"
    text, x, sign = _digits(v)
    return _exponent(text, x, sign, 1) if x < -6 or x >= 21 else _plain(text, x, sign)


@pytest.mark.parametrize(
    ("v", "g", "p"),
    [
        (1234567.0, "1.234567e+06", "1234567"),
        (1e-07, "1e-07", "1e-7"),
        (100000.0, "100000", "100000"),
        (0.000123, "0.000123", "0.000123"),
        (2500000.5, "2.5000005e+06", "2500000.5"),
        (1e21, "1e+21", "1e+21"),
    ],
)
def test_the_two_styles(v: float, g: str, p: str) -> None:
    assert (go_g(v), plain(v)) == (g, p)
    assert float(g) == float(p) == v


def _rewrite(src: Path, dst: Path, style) -> int:
    changed = 0

    def sub(m: re.Match[str]) -> str:
        nonlocal changed
        new = style(float(m.group(2)))
        changed += new != m.group(2)
        return m.group(1) + new

    with src.open() as fin, dst.open("w") as fout:
        for line in fin:
            fout.write(_VALUE.sub(sub, line) if '"type":"Point"' in line else line)
    return changed


@pytest.mark.parametrize("engine", ["fast", "duckdb"])
def test_both_number_styles_give_identical_exact_figures(k6_runs, tmp_path: Path, engine: str) -> None:
    run = k6_runs("numbers.js")
    original = run.json.read_text()
    assert "e+06" in original, "k6 1.x writes large values with an exponent"
    k1, k2 = tmp_path / "k6-1x.json", tmp_path / "k6-2x.json"
    assert _rewrite(run.json, k1, go_g) == 0  # the real output already is 1.x style
    assert _rewrite(run.json, k2, plain) > 0
    docs = [summary_document(ingest([p], k6_summary=run.export, engine=engine)) for p in (k1, k2)]
    assert docs[0]["metrics"] == docs[1]["metrics"]
    export = json.loads(run.export.read_text())["metrics"]
    for name in ("big_counter", "wide_trend", "tiny_gauge"):
        ours = docs[1]["metrics"][name]
        assert {k: v for k, v in ours.items() if k != "avg"} == {
            k: v for k, v in export[name].items() if k != "avg"
        }, name
