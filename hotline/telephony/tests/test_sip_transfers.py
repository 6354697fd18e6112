"""An agent's call controls on real SIP legs (issue points 4 and 6 of docs/telephony.md): hold,
blind transfer to an agent and to an outside number, consult transfer, click-to-dial through the
outbound trunk. The carrier is a sipp server behind the ``LOCAL`` trunk."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from hotline.callcenter.models import CallLeg, CallRecord, Seat
from hotline.telephony.models import PhoneAccount, Trunk
from hotline.telephony.tests.harness import (
    CALLER,
    PASSWORD,
    Switch,
    call,
    login,
    phone,
    record_of_caller,
    wait_for,
)
from hotline.telephony.tests.sipp import free_udp_port, phone_scenario, run_sipp

pytestmark = pytest.mark.django_db(transaction=True)


def agent_state(switch: Switch, agent: Any) -> str:
    return str(switch.call(lambda: switch.service.centre.agents[agent.id].state))


def wait_agent(switch: Switch, agent: Any, state: str, timeout: float = 20) -> None:
    wait_for(lambda: agent_state(switch, agent) == state, timeout, what=f"agent {agent.username} {state}")


def carrier(switch: Switch, workdir: Path, **behaviour: Any) -> Any:
    """A sipp server as the carrier behind the LOCAL trunk: outbound calls go there."""
    port = free_udp_port()
    sipp = run_sipp(workdir, "carrier", phone_scenario(**behaviour), port=port)
    Trunk.objects.filter(code="LOCAL").update(
        outbound_host="127.0.0.1", outbound_port=port, caller_id="12345", outbound_default=True
    )
    switch.call(lambda: switch.service.reload())
    return sipp


def test_hold_plays_music_and_mute_silences_the_agent(
    queue_first: Switch, phones: Any, tmp_path: Path
) -> None:
    switch = queue_first
    agent_phone = phone(switch, tmp_path, "1001", ring_s=0.2)
    login(switch, phones.li, "1001")
    caller = call(switch, tmp_path, [("speak", 0), ("wait", 7)])
    wait_agent(switch, phones.li, "talking")
    switch.call(lambda: switch.service.centre.call_hold(agent_id=phones.li.id))
    time.sleep(1.5)
    held = [leg for leg in switch.runtime.switch.legs.values() if leg.held]
    assert len(held) == 1 and held[0].inbound
    switch.call(lambda: switch.service.centre.call_unhold(agent_id=phones.li.id))
    wait_for(lambda: not any(leg.held for leg in switch.runtime.switch.legs.values()), what="unhold")
    switch.call(lambda: switch.service.centre.call_mute(agent_id=phones.li.id, muted=True))
    muted = wait_for(
        lambda: [leg for leg in switch.runtime.switch.legs.values() if leg.muted], what="the agent muted"
    )
    assert len(muted) == 1 and not muted[0].inbound
    switch.call(lambda: switch.service.centre.call_mute(agent_id=phones.li.id, muted=False))
    wait_for(lambda: not any(leg.muted for leg in switch.runtime.switch.legs.values()), what="unmute")
    assert caller.wait(60) == 0, caller.output()
    assert agent_phone.wait(20) == 0, agent_phone.output()
    record = record_of_caller()
    assert 1.0 <= record.hold_s <= 4.0
    assert switch.runtime.switch.counters["media_errors"] == 0


@pytest.mark.parametrize("to_queue", [False, True], ids=["to_an_agent", "to_a_queue"])
def test_a_blind_transfer_hands_the_caller_to_another_agent(
    queue_first: Switch, phones: Any, tmp_path: Path, to_queue: bool
) -> None:
    switch = queue_first
    first = phone(switch, tmp_path, "1001", ring_s=0.2)
    login(switch, phones.li, "1001")
    caller = call(switch, tmp_path, [("speak", 0), ("wait", 10)])
    wait_agent(switch, phones.li, "talking")
    second = phone(switch, tmp_path, "1002", ring_s=0.2)
    login(switch, phones.ying, "1002")
    target = "queue:GENERAL" if to_queue else f"agent:{phones.ying.id}"
    switch.call(lambda: switch.service.centre.call_transfer(agent_id=phones.li.id, target=target))
    assert first.wait(20) == 0, first.output()  # Li's phone got its BYE
    wait_agent(switch, phones.ying, "talking")
    assert caller.wait(60) == 0, caller.output()
    assert second.wait(20) == 0, second.output()

    record = record_of_caller()
    assert record.transfers == 1
    answered = CallLeg.objects.filter(call_id=record.call_id, kind="agent", answered_at__isnull=False)
    assert {leg.agent_id for leg in answered} == {phones.li.id, phones.ying.id}


def test_a_consult_transfer_talks_to_the_colleague_first(
    queue_first: Switch, phones: Any, tmp_path: Path
) -> None:
    switch = queue_first
    first = phone(switch, tmp_path, "1001", ring_s=0.2)
    login(switch, phones.li, "1001")
    caller = call(switch, tmp_path, [("speak", 0), ("wait", 12)])
    wait_agent(switch, phones.li, "talking")
    second = phone(switch, tmp_path, "1002", ring_s=0.2)
    login(switch, phones.ying, "1002")
    switch.call(
        lambda: switch.service.centre.call_consult(agent_id=phones.li.id, target=f"agent:{phones.ying.id}")
    )
    wait_agent(switch, phones.ying, "talking")
    caller_leg = next(leg for leg in switch.runtime.switch.legs.values() if leg.inbound)
    assert caller_leg.held  # the caller hears music while the agents talk
    switch.call(lambda: switch.service.centre.call_consult_complete(agent_id=phones.li.id))
    assert first.wait(20) == 0, first.output()
    assert caller.wait(60) == 0, caller.output()
    assert second.wait(20) == 0, second.output()
    record = record_of_caller()
    assert record.transfers >= 1
    consult = CallLeg.objects.get(call_id=record.call_id, agent_id=phones.ying.id)
    assert consult.answered_at is not None


def test_a_blind_transfer_to_an_outside_number_leaves_through_the_trunk(
    queue_first: Switch, phones: Any, tmp_path: Path
) -> None:
    switch = queue_first
    outside = carrier(switch, tmp_path, ring_s=0.3)
    agent_phone = phone(switch, tmp_path, "1001", ring_s=0.2)
    login(switch, phones.li, "1001")
    caller = call(switch, tmp_path, [("speak", 0), ("wait", 10)])
    wait_agent(switch, phones.li, "talking")
    switch.call(lambda: switch.service.centre.call_transfer(agent_id=phones.li.id, target="tel:12319"))
    assert agent_phone.wait(20) == 0, agent_phone.output()
    assert caller.wait(60) == 0, caller.output()
    assert outside.wait(20) == 0, outside.output()
    record = record_of_caller()
    leg = wait_for(
        lambda: CallLeg.objects.filter(call_id=record.call_id, party="tel:12319").first(),
        what="the outside leg",
    )
    assert leg.trunk == "LOCAL" and leg.answered_at is not None


def test_click_to_dial_rings_the_agent_then_the_citizen_through_the_trunk(
    switch: Switch, phones: Any, tmp_path: Path
) -> None:
    citizen = carrier(switch, tmp_path, ring_s=0.5, hang_up_after_s=2)
    agent_phone = phone(switch, tmp_path, "1001", ring_s=0.2)
    login(switch, phones.li, "1001")
    call_id = switch.call(
        lambda: switch.service.centre.agent_dial(agent_id=phones.li.id, number="13900001111")
    )
    assert citizen.wait(30) == 0, citizen.output()  # answered, talked, hung up
    assert agent_phone.wait(30) == 0, agent_phone.output()  # got the switch's BYE
    record = wait_for(lambda: CallRecord.objects.filter(call_id=call_id).first(), what="the call record")
    assert record.direction == "outbound" and record.called == "13900001111"
    assert record.agent_id == phones.li.id
    outside = CallLeg.objects.get(call_id=call_id, party="tel:13900001111")
    assert outside.trunk == "LOCAL" and outside.answered_at is not None
    assert not CallRecord.objects.filter(caller=CALLER).exists()


@pytest.mark.parametrize(
    ("mode", "agent_hears", "caller_hears"),
    [
        ("listen", {"caller"}, {"agent"}),
        ("whisper", {"caller", "supervisor"}, {"agent"}),
        ("barge", {"caller", "supervisor"}, {"agent", "supervisor"}),
    ],
)
def test_a_supervisor_listens_whispers_or_barges_through_the_mixer(
    queue_first: Switch, phones: Any, tmp_path: Path, mode: str, agent_hears: set[str], caller_hears: set[str]
) -> None:
    switch = queue_first
    account = PhoneAccount(seat=Seat.objects.get(extension="1101"), realm="hotline")
    account.set_password(PASSWORD)
    account.save()
    switch.call(lambda: switch.service.reload())
    agent_phone = phone(switch, tmp_path, "1001", ring_s=0.2)
    supervisor_phone = phone(switch, tmp_path, "1101", ring_s=0.2)
    login(switch, phones.li, "1001")
    caller = call(switch, tmp_path, [("speak", 0), ("wait", 9)])
    wait_agent(switch, phones.li, "talking")
    switch.call(
        lambda: switch.service.centre.supervise(
            by=phones.chen.id, extension="1101", agent_id=phones.li.id, mode=mode
        )
    )
    sip = switch.runtime.switch
    mixer = switch.runtime.mixer

    def room() -> Any:
        rooms = mixer.rooms()
        return mixer.room(rooms[0]) if rooms and len(mixer.room(rooms[0]).members) == 3 else None

    members = wait_for(room, what="the call's room with three members")
    legs = {leg.leg_id: leg for leg in sip.legs.values()}
    roles = {}
    for leg_id in members.members:
        leg = legs[leg_id]
        roles[leg_id] = (
            "caller" if leg.inbound else ("agent" if leg.leg_id == sip_agent_leg(sip) else "supervisor")
        )
    by_role = {role: leg_id for leg_id, role in roles.items()}
    assert {roles[x] for x in members.hears(by_role["agent"])} == agent_hears
    assert {roles[x] for x in members.hears(by_role["caller"])} == caller_hears
    assert {roles[x] for x in members.hears(by_role["supervisor"])} == {"caller", "agent"}
    before = mixer.stats["packets_received"]
    time.sleep(1.0)
    assert mixer.stats["packets_received"] - before > 50  # the parties' audio reaches the mixer
    assert caller.wait(60) == 0, caller.output()
    assert agent_phone.wait(20) == 0, agent_phone.output()
    assert supervisor_phone.wait(20) == 0, supervisor_phone.output()
    record = record_of_caller()
    assert record.data["supervision"][0]["mode"] == mode
    wait_for(lambda: not mixer.rooms(), what="the room to close with the call")


def sip_agent_leg(sip: Any) -> str:
    """The agent's leg of the only call: the originated leg that was answered first."""
    legs = [leg for leg in sip.legs.values() if not leg.inbound and leg.centre]
    return min(
        legs,
        key=lambda leg: int(leg.leg_id.rsplit("-", 1)[-1]) if leg.leg_id.rsplit("-", 1)[-1].isdigit() else 0,
    ).leg_id


def test_a_three_way_call_with_a_department_mixes_all_three(
    queue_first: Switch, phones: Any, tmp_path: Path
) -> None:
    switch = queue_first
    department = carrier(switch, tmp_path, ring_s=0.3)
    agent_phone = phone(switch, tmp_path, "1001", ring_s=0.2)
    login(switch, phones.li, "1001")
    caller = call(switch, tmp_path, [("speak", 0), ("wait", 9)])
    wait_agent(switch, phones.li, "talking")
    switch.call(lambda: switch.service.centre.call_conference(agent_id=phones.li.id, number="12319"))
    mixer = switch.runtime.mixer
    room = wait_for(
        lambda: (
            mixer.room(mixer.rooms()[0])
            if mixer.rooms() and len(mixer.room(mixer.rooms()[0]).members) == 3
            else None
        ),
        what="the three-way room",
    )
    for member in room.members:
        assert len(room.hears(member)) == 2  # everybody hears the two others
    assert caller.wait(60) == 0, caller.output()
    assert agent_phone.wait(20) == 0, agent_phone.output()
    assert department.wait(20) == 0, department.output()
    record = record_of_caller()
    assert record.data["conference"] == ["12319"]
    outside = CallLeg.objects.get(call_id=record.call_id, party="tel:12319")
    assert outside.trunk == "LOCAL" and outside.answered_at is not None
