"""Helpers for the real-browser tests: a loopback HTTP server that can send
Jenkins' default CSP, headless Chromium (screenshot / DOM dump), and a
dependency-free PNG decoder (Chromium writes 8-bit RGB(A), non-interlaced).
"""

from __future__ import annotations

import contextlib
import http.server
import shutil
import struct
import subprocess
import tempfile
import threading
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np  # already installed with pandas
from support import require_tool  # noqa: F401  (re-exported for the browser tests)

JENKINS_CSP = "sandbox; default-src 'none'; img-src 'self'; style-src 'self';"
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--hide-scrollbars")


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@contextlib.contextmanager
def serve(directory: Path, csp: str | None) -> Iterator[str]:
    """Serve ``directory`` on 127.0.0.1 (ephemeral port), optionally with a CSP header."""

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a: object, **kw: object) -> None:
            super().__init__(*a, directory=str(directory), **kw)  # type: ignore[arg-type]

        def end_headers(self) -> None:
            if csp:
                self.send_header("Content-Security-Policy", csp)
            super().end_headers()

        def log_message(self, *args: object) -> None:  # keep pytest output clean
            pass

    with serve_handler(Handler) as url:
        yield url


@contextlib.contextmanager
def serve_handler(handler: type[http.server.BaseHTTPRequestHandler]) -> Iterator[str]:
    """Serve ``handler`` from a thread on 127.0.0.1 (ephemeral port); yields the base URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _run_chromium(binary: str, args: list[str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory(prefix="novaload-chromium-") as profile:
        return subprocess.run([binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
                              capture_output=True, text=True, timeout=timeout, check=False)


def screenshot(binary: str, url: str, out: Path, size: tuple[int, int] = (1400, 3000)) -> Path:
    proc = _run_chromium(binary, [f"--screenshot={out}", f"--window-size={size[0]},{size[1]}", url])
    if not out.exists():
        raise RuntimeError(f"chromium wrote no screenshot (rc={proc.returncode}): {proc.stderr[-2000:]}")
    return out


def dump_dom(binary: str, url: str) -> str:
    proc = _run_chromium(binary, ["--dump-dom", "--virtual-time-budget=2000", url])
    if proc.returncode != 0 or "<html" not in proc.stdout:
        raise RuntimeError(f"chromium --dump-dom failed (rc={proc.returncode}): {proc.stderr[-2000:]}")
    return proc.stdout


@dataclass(frozen=True)
class Image:
    width: int
    height: int
    channels: int
    data: bytes  # rows of width*channels bytes, filters removed

    def pixel(self, x: int, y: int) -> tuple[int, int, int]:
        i = (y * self.width + x) * self.channels
        return self.data[i], self.data[i + 1], self.data[i + 2]

    def count_near(self, rgb: tuple[int, int, int], tol: int = 12,
                   box: tuple[int, int, int, int] | None = None) -> int:
        """Pixels within ``tol`` of ``rgb`` on every channel, in box (x0, y0, x1, y1)."""
        x0, y0, x1, y1 = box or (0, 0, self.width, self.height)
        px = np.frombuffer(self.data, dtype=np.uint8).reshape(self.height, self.width, self.channels)
        region = px[y0:y1, x0:x1, :3].astype(np.int16)
        near = np.abs(region - np.array(rgb, dtype=np.int16)) <= tol
        return int(near.all(axis=2).sum())


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else (b if pb <= pc else c)


def _unfilter_slow(ftype: int, line: bytearray, prev: bytes, c: int) -> np.ndarray:
    for i in range(len(line)):
        left = line[i - c] if i >= c else 0
        if ftype == 3:
            line[i] = (line[i] + ((left + prev[i]) >> 1)) & 0xFF
        elif ftype == 4:
            upleft = prev[i - c] if i >= c else 0
            line[i] = (line[i] + _paeth(left, prev[i], upleft)) & 0xFF
        else:
            raise ValueError(f"bad PNG filter type {ftype}")
    return np.frombuffer(bytes(line), dtype=np.uint8)


def decode_png(path: Path) -> Image:
    raw = path.read_bytes()
    if raw[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, idat, header = 8, [], None
    while pos < len(raw):
        length, ctype = struct.unpack(">I4s", raw[pos:pos + 8])
        body = raw[pos + 8:pos + 8 + length]
        if ctype == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif ctype == b"IDAT":
            idat.append(body)
        pos += 12 + length
    assert header is not None
    width, height, depth, color, _, _, interlace = header
    if depth != 8 or color not in (2, 6) or interlace:
        raise ValueError(f"unsupported PNG: depth={depth} colour={color} interlace={interlace}")
    c = 3 if color == 2 else 4
    stride = width * c
    data = zlib.decompress(b"".join(idat))
    out = np.zeros((height, stride), dtype=np.uint8)
    prev = np.zeros(stride, dtype=np.uint8)
    for y in range(height):
        ftype = data[y * (stride + 1)]
        row = np.frombuffer(data, dtype=np.uint8, count=stride, offset=y * (stride + 1) + 1)
        if ftype == 0:
            line = row.copy()
        elif ftype == 1:  # Sub: running sum per channel, vectorised
            line = (np.cumsum(row.reshape(width, c).astype(np.uint32), axis=0) & 0xFF).astype(np.uint8).ravel()
        elif ftype == 2:  # Up
            line = row + prev  # uint8 arithmetic wraps mod 256, as PNG requires
        else:  # Average and Paeth depend on the pixel just decoded: byte by byte
            line = _unfilter_slow(ftype, bytearray(row), bytes(prev), c)
        out[y] = line
        prev = line
    return Image(width, height, c, out.tobytes())


def hex_rgb(color: str) -> tuple[int, int, int]:
    h = color.lstrip("#")
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)



# Measures, in the rendered page, what a reader would see as broken layout: the page wider
# than the window, an element whose content is wider than its box (cut off or scrolling),
# and a word (a run of letters, digits and underscores) drawn on two lines. Evaluated in
# the page by the test only: the report itself carries no JavaScript.
LAYOUT_PROBE = r"""
() => {
  const out = {inner: innerWidth, scroll: document.documentElement.scrollWidth, wide: [], broken: []};
  const name = (el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
    (typeof el.className === 'string' && el.className.trim() ? '.' + el.className.trim().replace(/\s+/g, '.') : '');
  for (const el of document.body.querySelectorAll('*')) {
    if (el.closest('svg') && el.tagName.toLowerCase() !== 'svg') continue;
    const r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    if (r.right > innerWidth + 0.5) out.wide.push(name(el) + ' right=' + Math.round(r.right));
    else if (el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).display !== 'inline')
      out.wide.push(name(el) + ' scrollWidth=' + el.scrollWidth + ' clientWidth=' + el.clientWidth);
  }
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (node.parentElement.closest('svg')) continue;
    for (const m of node.data.matchAll(/\w{2,}/g)) {
      const range = document.createRange();
      range.setStart(node, m.index);
      range.setEnd(node, m.index + m[0].length);
      const tops = new Set([...range.getClientRects()].filter((q) => q.width > 0).map((q) => Math.round(q.top)));
      if (tops.size > 1) out.broken.push(m[0]);
    }
  }
  return out;
}
"""


def layout_at_widths(binary: str, url: str, widths: Sequence[int], shots: Path | None = None,
                     height: int = 900) -> dict[int, dict[str, Any]]:
    """:data:`LAYOUT_PROBE`'s findings for ``url`` at each viewport width (Playwright sets
    the viewport: a headless window is never narrower than 500 px), and with ``shots`` a
    full-page screenshot ``<width>.png`` there."""
    from playwright.sync_api import sync_playwright

    out: dict[int, dict[str, Any]] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=binary, args=["--no-sandbox", "--disable-gpu"])
        try:
            for width in widths:
                page = browser.new_page(viewport={"width": width, "height": height})
                page.goto(url)
                out[width] = page.evaluate(LAYOUT_PROBE)
                if shots is not None:
                    page.screenshot(path=str(shots / f"{width}.png"), full_page=True)
                page.close()
        finally:
            browser.close()
    return out
