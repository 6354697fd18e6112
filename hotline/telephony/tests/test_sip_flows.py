"""Call flows and failures through the SIP switch, each with sipp at the far ends (issue points 1,
2, 3 and 7 of docs/telephony.md): the next agent after a busy or unanswered phone, a caller who
gives up in the queue, an agent who hangs up first, a re-INVITE, a refused caller, order status by
DTMF and voicemail."""

from __future__ import annotations

import asyncio
import socket
import time
import wave
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.test import override_settings

from hotline.callcenter.models import (
    CallbackRequest,
    CallLeg,
    CallRecord,
    ListEntry,
    Queue,
    QueueEventLog,
    Voicemail,
)
from hotline.telephony.mediaserver import start_rtpengine, stop_rtpengine
from hotline.telephony.models import Recording
from hotline.telephony.ng import NgClient
from hotline.telephony.prompts import PromptLibrary, duration_s
from hotline.telephony.tests.conftest import Rtpengine, own_media_options
from hotline.telephony.tests.harness import (
    CALLER,
    Switch,
    call,
    login,
    phone,
    record_of_caller,
    set_flow,
    wait_for,
)
from hotline.telephony.tests.sipp import free_udp_port, refused_caller_scenario, run_sipp

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_busy_phone_passes_the_call_to_the_next_agent(
    queue_first: Switch, phones: Any, tmp_path: Path
) -> None:
    switch = queue_first
    busy = phone(switch, tmp_path, "1001", busy=True)
    answering = phone(switch, tmp_path, "1002", ring_s=0.2)
    login(switch, phones.li, "1001")  # idle longest: offered first
    time.sleep(0.3)
    login(switch, phones.ying, "1002")

    caller = call(switch, tmp_path, [("speak", 0), ("wait", 6)])
    assert caller.wait(60) == 0, caller.output()
    assert busy.wait(10) == 0, busy.output()
    assert answering.wait(20) == 0, answering.output()

    record = record_of_caller()
    assert record.outcome == "answered"
    assert record.agent_id == phones.ying.id
    legs = {leg.agent_id: leg for leg in CallLeg.objects.filter(call_id=record.call_id, kind="agent")}
    assert legs[phones.li.id].answered_at is None and legs[phones.li.id].cause == "busy"
    assert legs[phones.ying.id].answered_at is not None
    off_hooks = switch.call(lambda: switch.service.centre.agents[phones.li.id].off_hooks)
    assert off_hooks == 1


def test_an_unanswered_phone_is_cancelled_and_counts_as_a_no_answer(
    queue_first: Switch, phones: Any, tmp_path: Path
) -> None:
    switch = queue_first
    silent = phone(switch, tmp_path, "1001", answer=False)
    answering = phone(switch, tmp_path, "1002", ring_s=0.2)
    login(switch, phones.li, "1001")
    time.sleep(0.3)
    login(switch, phones.ying, "1002")

    # the queue rings for 6 s (staff_centre): the caller hears music meanwhile, then Ying answers
    caller = call(switch, tmp_path, [("speak", 0), ("wait", 12)])
    assert caller.wait(60) == 0, caller.output()
    assert silent.wait(10) == 0, silent.output()  # it saw the CANCEL and answered it with 487
    assert answering.wait(20) == 0, answering.output()

    record = record_of_caller()
    assert record.agent_id == phones.ying.id
    assert record.wait_s >= 6
    li = switch.call(lambda: switch.service.centre.agents[phones.li.id])
    assert li.no_answers == 1


def test_a_caller_who_gives_up_in_the_queue_is_an_abandon_with_position_and_wait(
    queue_first: Switch, phones: Any, tmp_path: Path
) -> None:
    switch = queue_first
    caller = call(switch, tmp_path, [("speak", 0), ("wait", 6)])  # nobody is logged in
    assert caller.wait(30) == 0, caller.output()

    record = record_of_caller()
    assert record.outcome == "abandoned"
    assert 5.0 <= record.wait_s <= 9.0
    abandon = wait_for(
        lambda: QueueEventLog.objects.filter(call_id=record.call_id, kind="abandon").first(),
        what="the abandon event",
    )
    assert abandon.position == 1
    assert abandon.wait_s is not None and 5.0 <= abandon.wait_s <= 9.0
    assert abandon.data["short"] is False


def test_when_the_agent_hangs_up_first_the_caller_gets_a_bye(
    queue_first: Switch, phones: Any, tmp_path: Path
) -> None:
    switch = queue_first
    agent_phone = phone(switch, tmp_path, "1001", ring_s=0.2, hang_up_after_s=2)
    login(switch, phones.li, "1001")

    caller = call(switch, tmp_path, [("speak", 0)], hang_up=False)  # waits for the switch's BYE
    assert agent_phone.wait(30) == 0, agent_phone.output()
    assert caller.wait(30) == 0, caller.output()

    record = record_of_caller()
    assert record.outcome == "answered" and record.agent_id == phones.li.id
    agent_leg = CallLeg.objects.get(call_id=record.call_id, kind="agent")
    caller_leg = CallLeg.objects.get(call_id=record.call_id, kind="caller")
    assert agent_leg.ended_at <= caller_leg.ended_at
    wait_for(lambda: not switch.runtime.switch.calls, what="the switch to forget the call")


def test_a_reinvite_from_the_caller_is_answered_with_the_direction_mirrored(
    queue_first: Switch, phones: Any, tmp_path: Path
) -> None:
    switch = queue_first
    agent_phone = phone(switch, tmp_path, "1001", ring_s=0.2)
    login(switch, phones.li, "1001")

    steps: list[tuple[str, float | str]] = [
        ("speak", 0),
        ("wait", 2),
        ("reinvite", "sendonly"),  # the caller holds: we answer recvonly
        ("wait", 1),
        ("reinvite", "sendrecv"),
        ("wait", 1),
    ]
    caller = call(switch, tmp_path, steps)
    assert caller.wait(60) == 0, caller.output()
    assert agent_phone.wait(20) == 0, agent_phone.output()
    assert record_of_caller().outcome == "answered"


INVITE = """INVITE sip:12345@127.0.0.1 SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:{local};branch=z9hG4bKbl{branch};rport
From: <sip:{caller}@127.0.0.1>;tag=bl{branch}
To: <sip:12345@127.0.0.1>
Call-ID: bl{branch}@test
CSeq: 1 INVITE
Contact: <sip:{caller}@127.0.0.1:{local}>
Max-Forwards: 70
Content-Type: application/sdp
Content-Length: {length}

{sdp}"""
SDP = (
    "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    "m=audio 7078 RTP/AVP 8 101\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\n"
)


def test_a_blacklisted_caller_is_refused_with_603(switch: Switch, phones: Any) -> None:
    ListEntry.objects.create(number="13900000013", kind="black", reason="骚扰电话")
    switch.call(lambda: switch.service.reload())
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        s.settimeout(5)
        local = s.getsockname()[1]
        text = INVITE.format(
            local=local, branch=time.monotonic_ns(), caller="13900000013", length=len(SDP), sdp=SDP
        )
        s.sendto(text.replace("\n", "\r\n").replace("\r\r\n", "\r\n").encode(), ("127.0.0.1", switch.port))
        final = ""
        while not final:
            reply = s.recvfrom(65535)[0].decode(errors="replace")
            if not reply.startswith("SIP/2.0 1"):
                final = reply
    assert final.startswith("SIP/2.0 603"), final
    record = wait_for(lambda: CallRecord.objects.filter(caller="13900000013").first(), what="the record")
    assert record.outcome == "refused"


def test_a_caller_keys_a_tracking_number_and_hears_the_order_state(
    switch: Switch, phones: Any, take: Any, tmp_path: Path, prompt_dir: Path
) -> None:
    order = take()
    set_flow(
        {
            "start": "status",
            "nodes": {
                "status": {
                    "type": "order_status",
                    "prompts": ["enter_number"],
                    "next": "bye",
                    "on_fail": "bye",
                    "timeout_s": 8,
                },
                "bye": {"type": "hangup", "prompts": ["goodbye"]},
            },
        }
    )
    switch.call(lambda: switch.service.reload())
    ask_s = duration_s(PromptLibrary(prompt_dir).file_for(("enter_number",)))
    caller = call(switch, tmp_path, [("wait", ask_s + 0.5), ("keys", f"{order.number}#")], hang_up=False)
    assert caller.wait(120) == 0, caller.output()  # the state was read out, then goodbye and BYE

    record = record_of_caller()
    assert record.data["order_lookups"] == [{"number": order.number, "status": f"status:{order.state}"}]
    played = [name for names in switch.runtime.switch.played for name in names if name.startswith("status:")]
    assert played == [f"status:{order.state}"]


def test_a_voicemail_is_recorded_to_a_wav_of_the_caller(
    switch: Switch, phones: Any, tmp_path: Path, prompt_dir: Path
) -> None:
    set_flow(
        {
            "start": "message",
            "nodes": {
                "message": {
                    "type": "voicemail",
                    "prompts": ["leave_message"],
                    "max_seconds": 30,
                    "next": "bye",
                },
                "bye": {"type": "hangup", "prompts": ["goodbye"]},
            },
        }
    )
    switch.call(lambda: switch.service.reload())
    ask_s = duration_s(PromptLibrary(prompt_dir).file_for(("leave_message",)))
    recordings = tmp_path / "recordings"
    with override_settings(HOTLINE_RECORDING_DIR=recordings):
        # about 7 s of speech, then the caller hangs up, as the prompt asks
        caller = call(switch, tmp_path, [("wait", ask_s + 0.5), ("speak", 0), ("wait", 7.5)])
        assert caller.wait(90) == 0, caller.output()
        voicemail = wait_for(lambda: Voicemail.objects.filter(caller=CALLER).first(), what="the voicemail")
        wav = recordings / voicemail.audio_path
        wait_for(wav.exists, what=f"{wav}")
    assert voicemail.audio_path == f"voicemail/{voicemail.call_id}.wav"
    with wave.open(str(wav)) as audio:
        assert audio.getnchannels() == 1 and audio.getframerate() == 8000
        seconds = audio.getnframes() / 8000
        samples = np.frombuffer(audio.readframes(audio.getnframes()), dtype="<i2")
    assert 6.0 <= seconds <= 9.5, seconds
    assert np.abs(samples).mean() > 100  # speech, not silence
    assert (wav.parent / f"{wav.name}.sha256").read_text().split()[0]
    assert not list((switch.runtime.options.spool_dir / "pcaps").glob(f"{voicemail.call_id}*"))


def waiting_queue(switch: Switch, **config: Any) -> None:
    Queue.objects.filter(code="GENERAL").update(**config)
    switch.call(lambda: switch.service.reload())


def test_a_waiting_caller_hears_the_position_then_leaves_a_voicemail_at_the_maximum_wait(
    queue_first: Switch, phones: Any, tmp_path: Path, prompt_dir: Path
) -> None:
    switch = queue_first
    waiting_queue(switch, announce_every_s=2, max_wait_s=5, max_wait_action="voicemail")
    ask_s = duration_s(PromptLibrary(prompt_dir).file_for(("leave_message",)))
    recordings = tmp_path / "recordings"
    with override_settings(HOTLINE_RECORDING_DIR=recordings):
        caller = call(switch, tmp_path, [("wait", 5 + ask_s + 1.0), ("speak", 0), ("wait", 7.5)])
        assert caller.wait(90) == 0, caller.output()
        voicemail = wait_for(lambda: Voicemail.objects.filter(caller=CALLER).first(), what="the voicemail")
        wait_for((recordings / voicemail.audio_path).exists, what="the voicemail's file")
    announced = [
        names for names in switch.runtime.switch.played if names and names[0].startswith("position:")
    ]
    assert announced and announced[0][0] == "position:1" and announced[0][1].startswith("wait_minutes:")
    timeout = QueueEventLog.objects.get(call_id=voicemail.call_id, kind="timeout")
    assert timeout.data["action"] == "voicemail" and 4.5 <= (timeout.wait_s or 0) <= 7


def test_at_the_maximum_wait_a_caller_presses_1_for_a_callback(
    queue_first: Switch, phones: Any, tmp_path: Path, prompt_dir: Path
) -> None:
    switch = queue_first
    waiting_queue(switch, announce_every_s=0, max_wait_s=3, max_wait_action="callback")
    offer_s = duration_s(PromptLibrary(prompt_dir).file_for(("callback_offer",)))
    caller = call(switch, tmp_path, [("wait", 3 + offer_s + 0.5), ("keys", "1")], hang_up=False)
    assert caller.wait(60) == 0, caller.output()  # the switch confirmed and hung up
    request = wait_for(lambda: CallbackRequest.objects.filter(caller=CALLER).first(), what="the callback")
    assert request.queue == "GENERAL"
    assert record_of_caller().outcome == "callback"


def test_a_queue_that_does_not_record_leaves_no_recording(
    queue_first: Switch, phones: Any, tmp_path: Path
) -> None:
    switch = queue_first
    waiting_queue(switch, record_calls=False)
    agent_phone = phone(switch, tmp_path, "1001", ring_s=0.2)
    login(switch, phones.li, "1001")
    with override_settings(HOTLINE_RECORDING_DIR=tmp_path / "recordings"):
        caller = call(switch, tmp_path, [("speak", 0), ("wait", 4)])
        assert caller.wait(60) == 0, caller.output()
        assert agent_phone.wait(20) == 0, agent_phone.output()
        record = record_of_caller()
    assert record.outcome == "answered"
    assert switch.runtime.switch.counters["archived"] == 0
    assert not Recording.objects.exists()
    assert not list((switch.runtime.options.spool_dir / "pcaps").glob(f"{record.call_id}*"))
    assert not (tmp_path / "recordings").exists()


LONG_MENU = {
    "start": "menu",
    "human": "queue",
    "nodes": {
        "menu": {
            "type": "menu",
            "prompts": ["main_menu"],
            "options": {"1": "queue"},
            "timeout_s": 60,
            "invalid_prompts": ["invalid"],
            "on_fail": "queue",
        },
        "queue": {"type": "queue", "queue": "GENERAL"},
    },
}


def test_a_restarted_switch_deletes_the_calls_its_predecessor_left_in_rtpengine(
    switch: Switch, phones: Any, tmp_path: Path, rtpengine: Rtpengine, prompt_dir: Path
) -> None:
    set_flow(LONG_MENU)
    switch.call(lambda: switch.service.reload())
    caller = call(switch, tmp_path, [("wait", 30)])
    try:
        wait_for_answer(switch)
        call_id = next(iter(switch.runtime.switch.calls))
        switch.stop()  # the process dies: no BYE, the call stays in rtpengine
        assert call_id in asyncio.run(list_calls(rtpengine))
        successor = Switch(rtpengine.options, prompt_dir).start()
        try:
            assert call_id not in asyncio.run(list_calls(rtpengine))
        finally:
            successor.stop()
    finally:
        caller.stop()


def wait_for_answer(switch: Switch) -> None:
    """Until the switch has answered a caller: its media is then in rtpengine."""
    wait_for(
        lambda: any(leg.state == "up" for leg in list(switch.runtime.switch.legs.values())),
        what="the call answered",
    )


def test_when_rtpengine_restarts_the_calls_it_lost_are_hung_up(
    phones: Any, tmp_path: Path, rtpengine: Rtpengine, prompt_dir: Path
) -> None:
    set_flow(LONG_MENU)
    options = own_media_options(tmp_path)  # restarting the session's rtpengine would disturb others
    media = start_rtpengine(options, log_path=tmp_path / "rtpengine.log", die_with_parent=True)
    switch = Switch(options, prompt_dir, reconcile_s=1.0).start()
    try:
        caller = call(switch, tmp_path, [], hang_up=False)  # waits for the switch's BYE
        # answered, so its media is in rtpengine: an answer sent after the restart would find a
        # fresh rtpengine and nothing lost
        wait_for_answer(switch)
        stop_rtpengine(media)
        media = start_rtpengine(options, log_path=tmp_path / "rtpengine-2.log", die_with_parent=True)
        assert caller.wait(30) == 0, caller.output()
        wait_for(lambda: not switch.runtime.switch.calls, what="the switch to drop the call")
        record = record_of_caller()
        assert CallLeg.objects.get(call_id=record.call_id, kind="caller").cause == "media_lost"
    finally:
        switch.stop()
        stop_rtpengine(media)


async def list_calls(rtpengine: Rtpengine) -> list[str]:
    client = NgClient(rtpengine.options.ng_host, rtpengine.options.ng_port)
    await client.start()
    try:
        return await client.list_calls(limit=1000)
    finally:
        client.close()


def test_a_call_whose_media_cannot_be_set_up_is_refused_with_503_and_forgotten(
    phones: Any, tmp_path: Path, prompt_dir: Path
) -> None:
    options = own_media_options(tmp_path)
    media = start_rtpengine(options, log_path=tmp_path / "rtpengine.log", die_with_parent=True)
    switch = Switch(options, prompt_dir).start()
    try:
        stop_rtpengine(media)  # every ng request of the next call goes unanswered
        caller = run_sipp(
            tmp_path,
            "caller",
            refused_caller_scenario(called="12345", status=503),
            target=switch.target,
            port=free_udp_port(),
            caller=CALLER,
        )
        assert caller.wait(30) == 0, caller.output()
        wait_for(lambda: not switch.runtime.switch.calls, what="the switch to forget the call")
        assert switch.runtime.switch.counters["aborted"] == 1
        record = record_of_caller()
        assert CallLeg.objects.get(call_id=record.call_id, kind="caller").cause == "error"
        assert switch.call(lambda: not switch.service.centre.calls)
    finally:
        switch.stop()
        stop_rtpengine(media)
