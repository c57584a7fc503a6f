"""WebSocket streams push JSON with a server ``ts``; the console echoes; all close cleanly."""

from __future__ import annotations

import asyncio
import json
import time

import aiohttp
import pytest
import requests


async def _collect(url: str, n: int) -> list[dict]:
    async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
        messages = [json.loads((await ws.receive(timeout=5)).data) for _ in range(n)]
        await ws.close()
        assert ws.close_code == aiohttp.WSCloseCode.OK
        return messages


@pytest.mark.parametrize(
    ("stream", "key"), [("metrics", "cpu_pct"), ("alerts", "severity"), ("logs", "level")]
)
def test_stream_delivers_messages_with_server_ts(target, stream, key):
    before_ms = time.time() * 1000.0
    messages = asyncio.run(_collect(f"{target.ws_url}/ws/{stream}?interval_ms=10", 3))
    assert [m["seq"] for m in messages] == [1, 2, 3]
    assert all(m["type"] == stream and key in m for m in messages)
    assert all(isinstance(m["ts"], float) and m["ts"] >= before_ms for m in messages)
    assert messages[0]["ts"] < messages[2]["ts"]


def test_stream_closes_itself_after_count(target):
    async def run() -> tuple[int, int | None]:
        async with (
            aiohttp.ClientSession() as session,
            session.ws_connect(f"{target.ws_url}/ws/logs?interval_ms=5&count=4") as ws,
        ):
            received = 0
            async for msg in ws:
                if msg.type == aiohttp.WSMsgType.TEXT:
                    received += 1
            return received, ws.close_code

    assert asyncio.run(run()) == (4, aiohttp.WSCloseCode.OK)


def test_console_echoes_text_with_ts_and_binary_as_is(target):
    async def run() -> tuple[dict, bytes]:
        async with (
            aiohttp.ClientSession() as session,
            session.ws_connect(f"{target.ws_url}/ws/console") as ws,
        ):
            await ws.send_str("hello")
            text = json.loads((await ws.receive(timeout=5)).data)
            await ws.send_bytes(b"\x00\x01")
            binary = (await ws.receive(timeout=5)).data
            await ws.close()
            return text, binary

    text, binary = asyncio.run(run())
    assert text["data"] == "hello" and text["type"] == "echo" and isinstance(text["ts"], float)
    assert binary == b"\x00\x01"


def test_open_connections_show_in_metrics(target):
    async def run() -> str:
        async with aiohttp.ClientSession() as session, session.ws_connect(f"{target.ws_url}/ws/alerts") as ws:
            await ws.receive(timeout=5)
            text = await asyncio.to_thread(lambda: requests.get(target.url + "/metrics", timeout=5).text)
            await ws.close()
            return text

    assert 'novaload_demo_ws_connections{stream="alerts"} 1' in asyncio.run(run())
