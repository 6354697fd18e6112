"""The ng client: bencode, the exchange (against a local socket), and the commands against rtpengine.

No test here needs the database.
"""

from __future__ import annotations

import asyncio
import itertools
import wave
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from hotline.telephony import speech
from hotline.telephony.dtmf import DtmfListener, parse_report
from hotline.telephony.ng import (
    PORT_LATCHING,
    BencodeError,
    NgClient,
    NgError,
    NgFailure,
    NgTimeout,
    bdecode,
    bencode,
)
from hotline.telephony.pcapwav import query_ports
from hotline.telephony.prompts import au_header
from hotline.telephony.tests.rtp import (
    PCMA,
    PCMU,
    Phone,
    audio_sections,
    decode,
    dominant_hz,
    media_addresses,
    run,
    tone,
)


@pytest.fixture(scope="module", autouse=True)
def _expected_database() -> None:
    """No test here touches the database: this replaces the root check that would create one."""


# ---------------------------------------------------------------------------------------------
# bencode
# ---------------------------------------------------------------------------------------------


def test_bencode_matches_the_wire_format_of_the_protocol_documentation() -> None:
    assert bencode({"command": "ping"}) == b"d7:command4:pinge"
    assert bdecode(b"d6:result4:ponge") == {"result": "pong"}


def test_bencode_sorts_keys_and_round_trips_nested_values() -> None:
    value = {
        "sdp": "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\n",
        "flags": ["port latching", "allow transcoding"],
        "repeat-times": 3,
        "negative": -42,
        "zero": 0,
        "nested": {"list": [[], {}, "", 7]},
        "名字": "话务员",
    }
    encoded = bencode(value)
    assert encoded.startswith(b"d5:flags")  # "flags" < "negative" < "nested" < "repeat-times" < "sdp"
    assert bdecode(encoded) == value
    assert bencode(("a", b"b")) == b"l1:a1:be"


def test_bdecode_gives_str_for_utf8_and_bytes_for_the_rest() -> None:
    assert bdecode(b"l2:\xc3\xa93:\xff\xfe\x00e") == ["é", b"\xff\xfe\x00"]


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"i12",
        b"i-0e",
        b"i012e",
        b"ie",
        b"5:abc",
        b"03:abc",
        b"l1:a",
        b"d3:key",
        b"di1ei2ee",  # keys must be strings
        b"x",
        b"i1ei2e",  # trailing data
        b"l" * 100 + b"e" * 100,  # too deep
    ],
)
def test_bdecode_refuses_malformed_input(data: bytes) -> None:
    with pytest.raises(BencodeError):
        bdecode(data)


@pytest.mark.parametrize("value", [True, 1.5, None, {1: "a"}, object()])
def test_bencode_refuses_values_rtpengine_has_no_type_for(value: Any) -> None:
    with pytest.raises(BencodeError):
        bencode(value)


# ---------------------------------------------------------------------------------------------
# The exchange, against a local UDP socket playing rtpengine
# ---------------------------------------------------------------------------------------------


class FakeServer(asyncio.DatagramProtocol):
    """Answers ``{"result": "ok", "echo": <command>}``; drops the first ``drop`` datagrams."""

    def __init__(self, *, drop: int = 0, reply: dict[str, Any] | None = None, hold: int = 0) -> None:
        self.drop = drop
        self.reply = reply
        self.hold = hold  # answer only once this many requests are waiting, last first
        self.received: list[bytes] = []
        self.held: list[tuple[bytes, Any]] = []
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.received.append(data)
        if len(self.received) <= self.drop:
            return
        assert self.transport is not None
        if self.hold:
            self.held.append((data, addr))
            if len(self.held) == self.hold:
                for held, held_addr in reversed(self.held):
                    self.transport.sendto(self.answer(held), held_addr)
            return
        self.transport.sendto(self.answer(data), addr)

    def answer(self, data: bytes) -> bytes:
        cookie, _, body = data.partition(b" ")
        request = bdecode(body)
        reply = self.reply or {"result": "ok", "echo": request["command"], "n": request.get("n", 0)}
        return cookie + b" " + bencode(reply)


async def _serve(server: FakeServer) -> tuple[asyncio.DatagramTransport, int]:
    transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(
        lambda: server, local_addr=("127.0.0.1", 0)
    )
    return transport, transport.get_extra_info("sockname")[1]


def test_a_lost_request_is_sent_again_with_the_same_bytes() -> None:
    async def scenario() -> None:
        server = FakeServer(drop=1)
        transport, port = await _serve(server)
        async with NgClient("127.0.0.1", port, timeout_s=0.05, retries=3) as client:
            reply = await client.request("query", call_id="c1")
        transport.close()
        assert reply == {"result": "ok", "echo": "query", "n": 0}
        assert len(server.received) == 2
        assert server.received[0] == server.received[1]
        cookie, _, body = server.received[0].partition(b" ")
        assert cookie and bdecode(body) == {"command": "query", "call-id": "c1"}
        assert (client.stats.requests, client.stats.retransmits, client.stats.timeouts) == (1, 1, 0)
        assert client.stats.times["query"].count == 1

    run(scenario())


def test_no_reply_after_all_retries_is_a_timeout() -> None:
    async def scenario() -> None:
        server = FakeServer(drop=100)
        transport, port = await _serve(server)
        async with NgClient("127.0.0.1", port, timeout_s=0.03, retries=2) as client:
            with pytest.raises(NgTimeout):
                await client.request("ping")
            assert client.in_flight == 0
        transport.close()
        assert len(server.received) == 3
        assert (client.stats.retransmits, client.stats.timeouts) == (2, 1)

    run(scenario())


def test_an_error_reply_raises_with_rtpengine_s_reason() -> None:
    async def scenario() -> None:
        server = FakeServer(reply={"result": "error", "error-reason": "Unknown call-id"})
        transport, port = await _serve(server)
        async with NgClient("127.0.0.1", port) as client:
            with pytest.raises(NgError) as caught:
                await client.query("nope")
        transport.close()
        assert caught.value.reason == "Unknown call-id"
        assert caught.value.command == "query"
        assert client.stats.errors == 1

    run(scenario())


def test_replies_to_unknown_cookies_are_ignored_and_many_requests_wait_at_once() -> None:
    async def scenario() -> None:
        server = FakeServer(hold=20)  # answers all twenty in reverse order
        transport, port = await _serve(server)
        async with NgClient("127.0.0.1", port, timeout_s=2.0) as client:
            client._reply_received(b"zz_1 " + bencode({"result": "ok"}))
            client._reply_received(b"no-space-at-all")
            replies = await asyncio.gather(*(client.request("query", n=n) for n in range(20)))
        transport.close()
        assert [reply["n"] for reply in replies] == list(range(20))
        assert client.stats.ignored_replies == 2
        assert client.stats.retransmits == 0

    run(scenario())


def test_closing_the_client_fails_waiting_requests() -> None:
    async def scenario() -> None:
        server = FakeServer(drop=100)
        transport, port = await _serve(server)
        client = NgClient("127.0.0.1", port, timeout_s=5.0)
        await client.start()
        waiting = asyncio.ensure_future(client.ping())
        await asyncio.sleep(0.01)
        client.close()
        with pytest.raises(NgFailure):
            await waiting
        with pytest.raises(NgFailure):
            await client.ping()
        transport.close()

    run(scenario())


# ---------------------------------------------------------------------------------------------
# Against rtpengine
# ---------------------------------------------------------------------------------------------


async def _wait_for(condition: Callable[[], bool], timeout_s: float = 2.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not condition() and loop.time() < deadline:
        await asyncio.sleep(0.01)


async def _call(client: NgClient, call_id: str, a: Phone, b: Phone) -> None:
    """A calls B through rtpengine: A's offer goes to B, B's answer back to A."""
    offer_for_b = await client.offer(call_id, "tagA", a.sdp())
    answer_for_a = await client.answer(call_id, "tagA", "tagB", b.sdp())
    b.send_to(offer_for_b)
    a.send_to(answer_for_a)


def test_ping(ng: Any) -> None:
    async def scenario() -> bool:
        async with ng() as client:
            result: bool = await client.ping()
            return result

    assert run(scenario()) is True


def test_offer_and_answer_carry_rtp_both_ways_through_rtpengine_s_ports(ng: Any) -> None:
    a, b = Phone("a", ssrc=0xA1), Phone("b", ssrc=0xB1)

    async def scenario() -> None:
        async with ng() as client:
            offer_for_b = await client.offer("ng-rtp", "tagA", a.sdp())
            answer_for_a = await client.answer("ng-rtp", "tagA", "tagB", b.sdp())
            # rtpengine puts itself in the middle: neither phone's own port is in what it is sent
            assert media_addresses(offer_for_b)[0][1] != a.address[1]
            assert media_addresses(answer_for_a)[0][1] != b.address[1]
            b.send_to(offer_for_b)
            a.send_to(answer_for_a)
            sent_a = tone(440, 0.4)
            sent_b = tone(1000, 0.4)
            await asyncio.gather(a.send_audio(sent_a, pace_s=0.005), b.send_audio(sent_b, pace_s=0.005))
            at_b = await b.receive_for(0.15, until=20)
            at_a = await a.receive_for(0.05, until=20)
            await client.delete("ng-rtp")
        assert len(at_b) == 20 and len(at_a) == 20
        assert {p.ssrc for p in at_b} == {0xA1} and {p.ssrc for p in at_a} == {0xB1}
        assert dominant_hz(decode(at_b)) == pytest.approx(440, abs=5)
        assert dominant_hz(decode(at_a)) == pytest.approx(1000, abs=5)

    try:
        run(scenario())
    finally:
        a.close()
        b.close()


def test_offer_always_asks_for_port_latching() -> None:
    async def scenario() -> list[Any]:
        server = FakeServer(reply={"result": "ok", "sdp": "v=0\r\n"})
        transport, port = await _serve(server)
        async with NgClient("127.0.0.1", port) as client:
            await client.offer("c", "f", "v=0\r\n", flags=["trust address"])
            await client.answer("c", "f", "t", "v=0\r\n")
        transport.close()
        return [bdecode(data.partition(b" ")[2]) for data in server.received]

    offer, answer = run(scenario())
    assert offer["flags"] == ["trust address", PORT_LATCHING]
    assert answer["flags"] == [PORT_LATCHING]
    assert (offer["call-id"], offer["from-tag"], answer["to-tag"]) == ("c", "f", "t")


def tone_wav(path: Path, hz: float = 600, seconds: float = 0.6) -> Path:
    """A prompt as the library keeps it: a WAV, 8 kHz, mono, 16-bit."""
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(tone(hz, seconds).astype("<i2").tobytes())
    return path


def test_play_media_sends_the_file_to_the_phone_as_rtp(ng: Any, tmp_path: Path) -> None:
    prompt = tone_wav(tmp_path / "prompt.wav")
    a, b = Phone("a", ssrc=0xA2), Phone("b", ssrc=0xB2, payload_type=PCMU)

    async def scenario() -> tuple[int | None, list[Any]]:
        async with ng() as client:
            await _call(client, "ng-play", a, b)
            duration = await client.play_media("ng-play", "tagB", str(prompt))
            heard = await b.receive_for(0.8)
            assert a.receive() == []  # only the party asked for hears it
            await client.stop_media("ng-play", "tagB")
            await client.delete("ng-play")
        return duration, heard

    try:
        duration, heard = run(scenario())
    finally:
        a.close()
        b.close()
    assert duration == 600
    audio = [p for p in heard if p.payload_type == PCMU]
    assert len(audio) >= 25  # 30 packets of 20 ms; the player may trim the edges
    assert dominant_hz(decode(audio, PCMU)) == pytest.approx(600, abs=10)


def test_an_a_law_au_prompt_reaches_a_pcma_phone_byte_for_byte_and_a_pcmu_phone_as_the_same_tone(
    ng: Any, tmp_path: Path
) -> None:
    """The prompt library's files for rtpengine (PromptLibrary.play_file_for): 8-bit A-law .au."""
    prompt = speech.to_play_file(tone_wav(tmp_path / "prompt.wav"), tmp_path / "prompt.au")
    header = au_header(prompt)
    assert header is not None
    data = prompt.read_bytes()[header.offset :]
    a, b = Phone("a", ssrc=0xA6), Phone("b", ssrc=0xB6)  # G.711 A-law both
    c, d = Phone("c", ssrc=0xC6, payload_type=PCMU), Phone("d", ssrc=0xD6, payload_type=PCMU)

    async def scenario() -> tuple[int | None, list[Any], list[Any]]:
        async with ng() as client:
            await _call(client, "ng-play-au", a, b)
            await _call(client, "ng-play-au-u", c, d)
            duration = await client.play_media("ng-play-au", "tagA", str(prompt))
            await client.play_media("ng-play-au-u", "tagA", str(prompt))
            at_a, at_c = await asyncio.gather(a.receive_for(0.8, until=30), c.receive_for(0.8, until=30))
            await client.delete("ng-play-au")
            await client.delete("ng-play-au-u")
        return duration, at_a, at_c

    try:
        duration, at_a, at_c = run(scenario())
    finally:
        for phone in (a, b, c, d):
            phone.close()
    assert duration == 600
    heard = [p for p in at_a if p.payload_type == PCMA]
    assert len(heard) == 30
    assert b"".join(p.payload for p in heard) == data  # the file's bytes, not re-encoded
    assert {q.timestamp - p.timestamp for p, q in itertools.pairwise(heard)} == {160}
    transcoded = [p for p in at_c if p.payload_type == PCMU]
    assert len(transcoded) >= 25
    assert dominant_hz(decode(transcoded, PCMU)) == pytest.approx(600, abs=10)


def test_block_media_stops_one_direction_until_unblocked(ng: Any) -> None:
    a, b = Phone("a", ssrc=0xA3), Phone("b", ssrc=0xB3)

    async def scenario() -> tuple[int, int, int, int]:
        async with ng() as client:
            await _call(client, "ng-block", a, b)
            await a.send_audio(tone(300, 0.1), pace_s=0.002)
            before = len(await b.receive_for(0.1, until=5))
            await client.block_media("ng-block", "tagA")
            await a.send_audio(tone(300, 0.1), pace_s=0.002)
            await b.send_audio(tone(300, 0.1), pace_s=0.002)
            blocked = len(await b.receive_for(0.1))
            reverse = len(await a.receive_for(0.05, until=5))
            await client.unblock_media("ng-block", "tagA")
            await a.send_audio(tone(300, 0.1), pace_s=0.002)
            after = len(await b.receive_for(0.1, until=5))
            await client.delete("ng-block")
            return before, blocked, reverse, after

    try:
        counts = run(scenario())
    finally:
        a.close()
        b.close()
    assert counts == (5, 0, 5, 5)  # before, A blocked, B towards A meanwhile, after


def test_a_key_pressed_on_a_phone_reaches_the_dtmf_listener(ng: Any, rtpengine: Any) -> None:
    a, b = Phone("a", ssrc=0xA4), Phone("b", ssrc=0xB4)
    digits: list[tuple[str, str, str]] = []

    async def scenario() -> tuple[int, int]:
        listener = DtmfListener(
            lambda call, tag, digit: digits.append((call, tag, digit)),
            host=rtpengine.options.dtmf_host,
            port=rtpengine.options.dtmf_port,
        )
        await listener.start()
        try:
            async with ng() as client:
                await _call(client, "ng-dtmf@example", a, b)
                await a.send_audio(tone(300, 0.06), pace_s=0.002)
                await a.send_digit("5")
                await a.send_digit("#")
                await b.send_digit("*")
                await asyncio.sleep(0.1)
                events_at_b = len(
                    [p for p in await b.receive_for(0.05, until=14 + 3) if p.payload_type == 101]
                )
                # blocked DTMF is not forwarded to the other party, but still reported
                await client.block_dtmf("ng-dtmf@example", "tagA")
                await a.send_digit("7")
                await _wait_for(lambda: len(digits) == 4)
                blocked_events = len([p for p in b.receive() if p.payload_type == 101])
                await client.unblock_dtmf("ng-dtmf@example", "tagA")
                await client.delete("ng-dtmf@example")
        finally:
            listener.close()
        assert listener.stats.duplicates == 0
        return events_at_b, blocked_events

    try:
        events_at_b, blocked_events = run(scenario())
    finally:
        a.close()
        b.close()
    assert digits == [
        ("ng-dtmf@example", "tagA", "5"),
        ("ng-dtmf@example", "tagA", "#"),
        ("ng-dtmf@example", "tagB", "*"),
        ("ng-dtmf@example", "tagA", "7"),
    ]
    assert events_at_b == 14  # two presses of 4 updates + 3 end packets, forwarded
    assert blocked_events == 0


def test_dtmf_reports_are_parsed_and_a_copy_within_the_window_is_dropped() -> None:
    report = b'{"callid":"c","source_tag":"t","type":"DTMF","event":%d,"duration":100}'
    assert parse_report(report % 10).digit == "*"  # type: ignore[union-attr]
    assert parse_report(report % 11).digit == "#"  # type: ignore[union-attr]
    assert parse_report(report % 15).digit == "D"  # type: ignore[union-attr]
    assert parse_report(report % 16) is None
    assert parse_report(b"not json") is None
    assert parse_report(b'{"callid":"c","event":1}') is None
    now = [0.0]
    digits: list[str] = []
    listener = DtmfListener(lambda call, tag, digit: digits.append(digit), clock=lambda: now[0])
    listener.report_received(report % 1)
    listener.report_received(report % 1)  # the same report again at once: dropped
    now[0] = 0.2
    listener.report_received(report % 1)  # a second press of the key
    listener.report_received(report % 2)
    listener.report_received(b"{}")
    assert digits == ["1", "1", "2"]
    assert (listener.stats.duplicates, listener.stats.malformed) == (1, 1)


def test_subscribe_request_offers_both_parties_to_a_listening_supervisor(ng: Any, rtpengine: Any) -> None:
    a, b, sup = Phone("a", ssrc=0xA5), Phone("b", ssrc=0xB5), Phone("sup", ssrc=0x55)
    digits: list[str] = []

    async def scenario() -> tuple[str, str, list[Any], DtmfListener]:
        listener = DtmfListener(
            lambda call, tag, digit: digits.append(digit),
            host=rtpengine.options.dtmf_host,
            port=rtpengine.options.dtmf_port,
        )
        await listener.start()
        async with ng() as client:
            await _call(client, "ng-sub", a, b)
            sdp, to_tag = await client.subscribe_request("ng-sub", ["tagA", "tagB"])
            await client.subscribe_answer("ng-sub", to_tag, sup.sdp(direction="recvonly", sections=2))
            await asyncio.gather(
                a.send_audio(tone(440, 0.1), pace_s=0.002), b.send_audio(tone(1000, 0.1), pace_s=0.002)
            )
            await a.send_digit("9")  # forwarded to B and to the supervisor, reported once
            await _wait_for(lambda: bool(digits))
            heard = await sup.receive_for(0.15, until=10)
            await client.unsubscribe("ng-sub", to_tag)
            await a.send_audio(tone(440, 0.1), pace_s=0.002)
            after = await sup.receive_for(0.1)
            await client.delete("ng-sub")
        listener.close()
        assert after == []
        return sdp, to_tag, heard, listener

    try:
        sdp, to_tag, heard, listener = run(scenario())
    finally:
        for phone in (a, b, sup):
            phone.close()
    assert audio_sections(sdp) == 2
    assert "a=sendonly" in sdp
    assert to_tag
    assert {p.ssrc for p in heard if p.payload_type == PCMA} == {0xA5, 0xB5}
    assert digits == ["9"]
    assert listener.stats.reports == 1


def test_list_query_and_delete(ng: Any) -> None:
    a, b = Phone("a", ssrc=0xA6), Phone("b", ssrc=0xB6)

    async def scenario() -> None:
        async with ng() as client:
            await _call(client, "ng-list", a, b)
            await a.send_audio(tone(300, 0.1), pace_s=0.002)
            await asyncio.sleep(0.05)
            assert "ng-list" in await client.list_calls(limit=100)
            query = await client.query("ng-list")
            assert set(query["tags"]) == {"tagA", "tagB"}
            assert query["tags"]["tagA"]["medias"][0]["streams"][0]["endpoint"]["port"] == a.address[1]
            assert query["totals"]["RTP"]["packets"] >= 5
            # the same reply left undecoded, for the archive's child process
            raw = await client.query_undecoded("ng-list")
            assert isinstance(raw, bytes)
            undecoded = bdecode(raw)
            assert undecoded["result"] == "ok" and set(undecoded["tags"]) == {"tagA", "tagB"}
            assert query_ports(undecoded) == query_ports(query) != {}
            await client.delete("ng-list")
            assert "ng-list" not in await client.list_calls(limit=100)
            with pytest.raises(NgError):
                await client.query("ng-list")
            with pytest.raises(NgError):  # an error is decoded and raised as ever
                await client.query_undecoded("ng-list")
            assert client.in_flight == 0 and not client._undecoded
            with pytest.raises(NgError):
                await client.play_media("ng-list", "tagA", "/nonexistent.wav")

    try:
        run(scenario())
    finally:
        a.close()
        b.close()


def test_requests_in_flight_at_once_against_rtpengine(ng: Any) -> None:
    phones = [Phone(f"p{n}", ssrc=0x1000 + n) for n in range(20)]

    async def scenario() -> None:
        async with ng() as client:
            sdps = await asyncio.gather(
                *(client.offer(f"ng-many-{n}", "from", phone.sdp()) for n, phone in enumerate(phones))
            )
            assert len({media_addresses(sdp)[0][1] for sdp in sdps}) == 20
            await asyncio.gather(*(client.delete(f"ng-many-{n}") for n in range(20)))
            assert client.stats.requests == 40
            assert client.stats.timeouts == 0

    try:
        run(scenario())
    finally:
        for phone in phones:
            phone.close()
