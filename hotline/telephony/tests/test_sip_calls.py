"""Real calls through the SIP switch: sipp callers and agents' phones, rtpengine for the media,
the contact-centre engine and its Django recorder behind them (docs/telephony.md).

Each test runs the switch service (``SwitchService`` with a ``SipRuntime``) on its own event loop
in a thread, as the ``switch`` process does, on the test database.
"""

from __future__ import annotations

import os
import time
import wave
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.test import override_settings

from hotline.callcenter.models import CallLeg, CallRecord
from hotline.telephony.archive import ARCHIVE_NICENESS
from hotline.telephony.models import Recording, Registration, Trunk
from hotline.telephony.pcapwav import file_sha256
from hotline.telephony.tests.harness import Switch, register, wait_for
from hotline.telephony.tests.sipp import (
    caller_scenario,
    free_udp_port,
    phone_scenario,
    run_sipp,
)

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_caller_goes_through_the_menu_to_an_agent_and_is_recorded(
    switch: Switch, phones: Any, tmp_path: Path
) -> None:
    li = phones.li
    phone_port = free_udp_port()
    phone = run_sipp(tmp_path, "phone-1001", phone_scenario(ring_s=0.3), port=phone_port)
    register(switch, tmp_path, "1001", phone_port)
    assert Registration.objects.filter(extension="1001").exists() or wait_for(
        lambda: Registration.objects.filter(extension="1001").exists(), what="the stored registration"
    )
    switch.call(lambda: switch.service.centre.agent_login(agent_id=li.id, extension="1001"))

    recordings = tmp_path / "recordings"
    steps: list[tuple[str, float | str]] = [
        ("wait", switch.welcome_s + 1.0),
        ("keys", "1"),
        ("wait", 1.5),  # bridged by now: both talk
        ("speak", 0),
        ("wait", 6),
    ]
    with override_settings(HOTLINE_RECORDING_DIR=recordings):
        caller = run_sipp(
            tmp_path,
            "caller",
            caller_scenario(called="12345", steps=steps),
            target=switch.target,
            port=free_udp_port(),
        )
        assert caller.wait(60) == 0, caller.output()
        assert phone.wait(20) == 0, phone.output()
        recording = wait_for(lambda: Recording.objects.first(), what="the recording")

    record = wait_for(lambda: CallRecord.objects.filter(caller="13800138000").first(), what="the call record")
    assert record.outcome == "answered"
    assert record.agent_id == li.id
    assert record.trunk == "LOCAL"
    assert record.ivr_path[:2] == ["welcome", "menu"]
    legs = CallLeg.objects.filter(call_id=record.call_id)
    assert {leg.kind for leg in legs} >= {"caller", "agent"}

    # the conversation: a stereo WAV, the caller left and the agent right, both speaking
    assert recording.call_id == record.call_id and recording.trunk == "LOCAL"
    assert recording.caller == "13800138000" and recording.called == "12345"
    recording = wait_for(
        lambda: Recording.objects.filter(pk=recording.pk, agent_id=li.id).first(), what="the agent on it"
    )
    wav = recordings / recording.path
    assert recording.path == f"{record.started_at:%Y/%m/%d}/{record.call_id}.wav"
    assert recording.sha256 == file_sha256(wav) == (wav.parent / f"{wav.name}.sha256").read_text().split()[0]
    assert recording.size_bytes == wav.stat().st_size
    with wave.open(str(wav)) as audio:
        assert audio.getnchannels() == 2
        samples = np.frombuffer(audio.readframes(audio.getnframes()), dtype="<i2").reshape(-1, 2)
    assert 5.0 <= len(samples) / 8000 <= 12.0, len(samples) / 8000
    caller_side, agent_side = np.abs(samples[:, 0]).mean(), np.abs(samples[:, 1]).mean()
    assert caller_side > 100 and agent_side > 100, (caller_side, agent_side)
    assert not list((switch.runtime.options.spool_dir / "pcaps").glob(f"{record.call_id}*"))
    # converted in the archive's child process, which gives way to the calls when the cores are busy
    niceness = switch.runtime._archiver_pool().submit(os.nice, 0).result(timeout=30)
    assert niceness == max(ARCHIVE_NICENESS, os.nice(0)) >= ARCHIVE_NICENESS
    # the SIP stack reads its clocks without ctypes (which gives up the interpreter lock every
    # time), and they still tell the time
    from sippy.Time import MonoTime as monotime

    assert monotime.clock_getdtime is time.clock_gettime
    stamp = monotime.MonoTime()
    assert abs(stamp.realt - time.time()) < 1
    assert abs(stamp.monot - time.clock_gettime(monotime.CLOCK_MONOTONIC)) < 1
    # and sends from its own thread to numeric addresses (sippy's sender thread only as a fallback)
    assert switch.runtime.stack is not None and switch.runtime.stack.counters["sent_direct"] >= 4


def _exchange(port: int, message: str, timeout: float = 3.0) -> str:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        s.settimeout(timeout)
        local = s.getsockname()[1]
        s.sendto(message.replace("{local}", str(local)).replace("\n", "\r\n").encode(), ("127.0.0.1", port))
        data, _ = s.recvfrom(65535)
        return data.decode(errors="replace")


REQUEST = """{method} sip:{user}@127.0.0.1 SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:{local};branch=z9hG4bK{branch};rport
From: <sip:13900000000@127.0.0.1>;tag=t{branch}
To: <sip:{user}@127.0.0.1>{to_tag}
Call-ID: {branch}@test
CSeq: 1 {method}
Contact: <sip:13900000000@127.0.0.1:{local}>
Max-Forwards: 70
Content-Length: 0

"""


def test_the_stack_answers_what_it_does_not_take_with_the_right_status(switch: Switch) -> None:
    def ask(method: str, user: str = "12345", to_tag: str = "") -> str:
        branch = f"{method.lower()}{time.monotonic_ns()}"
        return _exchange(
            switch.port,
            REQUEST.format(method=method, user=user, branch=branch, to_tag=to_tag, local="{local}"),
        )

    assert ask("OPTIONS").startswith("SIP/2.0 200")
    assert ask("SUBSCRIBE").startswith("SIP/2.0 405")
    assert ask("BYE", to_tag=";tag=nosuchdialog").startswith("SIP/2.0 481")
    # a REGISTER for an unknown extension, and one without credentials
    assert ask("REGISTER", user="9999").startswith("SIP/2.0 404")
    challenge = ask("REGISTER", user="1001")
    assert challenge.startswith("SIP/2.0 401") and 'realm="hotline"' in challenge
    # a request with a broken header gets 400; the stack goes on answering
    broken = REQUEST.replace("CSeq: 1 {method}", "CSeq: one {method}")
    branch = f"bad{time.monotonic_ns()}"
    reply = _exchange(
        switch.port, broken.format(method="OPTIONS", user="12345", branch=branch, to_tag="", local="{local}")
    )
    assert reply.startswith("SIP/2.0 400"), reply
    assert ask("OPTIONS").startswith("SIP/2.0 200")


def test_an_invite_from_an_address_no_trunk_allows_is_refused(switch: Switch, phones: Any) -> None:
    Trunk.objects.update(inbound_addresses="192.0.2.0/24")
    switch.call(lambda: switch.service.reload())
    wait_for(
        lambda: (
            not switch.runtime.stack or not switch.runtime.stack.policy.trunks[0].allows_address("127.0.0.1")
        )
    )
    branch = f"inv{time.monotonic_ns()}"
    invite = REQUEST.format(method="INVITE", user="12345", branch=branch, to_tag="", local="{local}")
    assert _exchange(switch.port, invite).startswith("SIP/2.0 403")
    assert switch.runtime.switch.counters["offered"] == 0
