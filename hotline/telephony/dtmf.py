"""DTMF digits (按键) reported by rtpengine: one JSON datagram per key press.

rtpengine started with ``--dtmf-log-dest=HOST:PORT`` sends, when a party's RFC 2833 event ends,
a datagram such as::

    {"callid": "c1", "source_tag": "tagA", "tags": ["tagA", "tagB"], "type": "DTMF",
     "timestamp": 1795284180, "source_ip": "127.0.0.1", "event": 5, "duration": 100, "volume": 10}

``event`` is the RFC 4733 event number (0–9, 10 ``*``, 11 ``#``, 12–15 ``A``–``D``), ``duration``
is in milliseconds, ``timestamp`` in whole seconds. Measured with rtpengine 10.5: the end packet
sent three times (as phones do) and a late retransmitted end packet give one report; two presses
of one key give two; an event whose end packets are all lost is never reported. A copy of the
same report within ``dedupe_s`` is still dropped, so a report sent twice (a forked or subscribed
call) reaches the switch once; two real presses of one key are further apart than that (each
press lasts at least 40 ms and so does the pause).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger(__name__)

EVENT_DIGITS = "0123456789*#ABCD"
DEDUPE_S = 0.04

DigitCallback = Callable[[str, str, str], None]


@dataclass(frozen=True, slots=True)
class DtmfReport:
    """One parsed report."""

    call_id: str
    source_tag: str
    digit: str
    duration_ms: int | None


def parse_report(data: bytes) -> DtmfReport | None:
    """The report in ``data``; None for anything that is not a DTMF digit report."""
    try:
        message = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(message, dict) or message.get("type", "DTMF") != "DTMF":
        return None
    call_id, tag, event = message.get("callid"), message.get("source_tag"), message.get("event")
    if not isinstance(call_id, str) or not isinstance(tag, str):
        return None
    if isinstance(event, bool) or not isinstance(event, int) or not 0 <= event < len(EVENT_DIGITS):
        return None
    duration = message.get("duration")
    return DtmfReport(
        call_id=call_id,
        source_tag=tag,
        digit=EVENT_DIGITS[event],
        duration_ms=duration if isinstance(duration, int) and not isinstance(duration, bool) else None,
    )


@dataclass
class DtmfStats:
    reports: int = 0
    digits: int = 0
    duplicates: int = 0
    malformed: int = 0


class _DtmfProtocol(asyncio.DatagramProtocol):
    def __init__(self, listener: DtmfListener) -> None:
        self.listener = listener

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        self.listener.report_received(data)


class DtmfListener:
    """Receives rtpengine's digit reports on ``host:port`` and calls ``on_digit(call_id, tag, digit)``.

    ``on_digit`` runs on the loop's thread; an exception in it is logged and the listener goes on.
    """

    def __init__(
        self,
        on_digit: DigitCallback,
        *,
        host: str = "127.0.0.1",
        port: int = 22223,
        dedupe_s: float = DEDUPE_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.on_digit = on_digit
        self.host = host
        self.port = port
        self.dedupe_s = dedupe_s
        self.stats = DtmfStats()
        self._clock = clock
        self._last: dict[tuple[str, str], tuple[str, int | None, float]] = {}
        self._transport: asyncio.DatagramTransport | None = None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(
            lambda: _DtmfProtocol(self), local_addr=(self.host, self.port)
        )
        self._transport = transport
        self.port = transport.get_extra_info("sockname")[1]  # the real port when 0 was asked

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()
            self._transport = None

    def forget(self, call_id: str) -> None:
        """Drop what is kept about a call that ended."""
        for key in [key for key in self._last if key[0] == call_id]:
            del self._last[key]

    def report_received(self, data: bytes) -> None:
        self.stats.reports += 1
        report = parse_report(data)
        if report is None:
            self.stats.malformed += 1
            logger.warning("not a DTMF report: %r", data[:200])
            return
        now = self._clock()
        key = (report.call_id, report.source_tag)
        last = self._last.get(key)
        same = last is not None and last[:2] == (report.digit, report.duration_ms)
        if same and last is not None and now - last[2] < self.dedupe_s:
            self.stats.duplicates += 1
            return
        self._last[key] = (report.digit, report.duration_ms, now)
        self.stats.digits += 1
        try:
            self.on_digit(report.call_id, report.source_tag, report.digit)
        except Exception:
            logger.exception("DTMF digit %s on call %s not handled", report.digit, report.call_id)
