"""Call control from the desktop and the supervisor's seat: transfers with the draft, consult,
hold, mute, three-way, emergency, dial out, listen/whisper/barge, force release, take a call."""

from __future__ import annotations

import pytest

from hotline.callcenter.engine.config import AgentConfig, CentreConfig, QueueConfig
from hotline.callcenter.engine.errors import EngineError
from hotline.callcenter.engine.memory import ListObserver
from hotline.callcenter.engine.simulation import SimCentre, direct_flow
from hotline.callcenter.records import QE_COMPLETE, QE_OFFER, QE_TRANSFER
from hotline.telephony.simswitch import CallerScript, Endpoint

DRAFT = {"category": "城市管理/市容环境", "content": "小区门口垃圾未清运", "address": "东一街道"}


def build() -> tuple[SimCentre, ListObserver]:
    config = CentreConfig(
        queues=(QueueConfig("GEN", wrap_up_s=20, record_calls=True), QueueConfig("LAW", wrap_up_s=0)),
        agents=(
            AgentConfig(1, "Li", "1001", {"GEN": 3}),
            AgentConfig(2, "Wang", "1002", {"GEN": 3}),
            AgentConfig(3, "Zhou", "1003", {"LAW": 5}),
        ),
        flows={"main": direct_flow("GEN")},
        default_flow="main",
    )
    observer = ListObserver()
    sim = SimCentre(config, observer=observer, default_endpoint=Endpoint(answer_after_s=1))
    return sim, observer


def connected(sim: SimCentre, *agents: int, talk_s: float | tuple[float, ...] = 600) -> tuple[str, str]:
    for agent_id in agents:
        sim.centre.agent_login(agent_id=agent_id)
    call_id, leg = sim.switch.incoming("13800000001", script=CallerScript(talk_s=talk_s))
    sim.run(3)
    return call_id, leg


def test_answered_call_is_bridged_and_recorded_and_the_screen_pops() -> None:
    sim, observer = build()
    call_id, leg = connected(sim, 1)
    agent_leg = sim.centre.calls[call_id].agent_leg
    assert sim.switch.hears(leg) == {agent_leg}
    assert sim.switch.legs[leg].recording_path.endswith(f"{call_id}-{agent_leg}.wav")
    offer = observer.offers[0]
    assert (offer.agent_id, offer.call_id, offer.caller, offer.queue) == (1, call_id, "13800000001", "GEN")


def test_blind_transfer_to_an_agent_carries_the_draft() -> None:
    sim, observer = build()
    call_id, leg = connected(sim, 1, 2, talk_s=(600, 60))
    first = sim.centre.calls[call_id].agent_id
    other = 2 if first == 1 else 1
    sim.centre.call_set_draft(agent_id=first, draft=DRAFT)
    sim.centre.call_transfer(agent_id=first, target=f"agent:{other}")
    sim.run(3)
    assert observer.offers[-1].agent_id == other and observer.offers[-1].draft == DRAFT
    assert "transferred" in observer.offers[-1].marks
    assert sim.centre.agents[first].state == "wrap_up"
    assert sim.centre.agents[other].state == "talking"
    assert sim.switch.hears(leg) == {sim.centre.calls[call_id].agent_leg}
    sim.run(100)
    record = sim.recorder.call_record(call_id)
    assert record.transfers == 1 and record.data["draft"] == DRAFT and record.agent_id == first
    assert sim.recorder.events(QE_TRANSFER)[0].data == {"to": f"agent:{other}", "draft": True}


def test_blind_transfer_to_a_queue_and_to_an_outside_number() -> None:
    sim, observer = build()
    call_id, _leg = connected(sim, 1, 3)
    sim.centre.call_set_draft(agent_id=1, draft=DRAFT)
    sim.centre.call_transfer(agent_id=1, target="queue:LAW")
    sim.run(3)
    assert sim.centre.calls[call_id].agent_id == 3 and observer.offers[-1].draft == DRAFT
    sim.centre.call_transfer(agent_id=3, target="tel:88886666")
    sim.run(3)
    call = sim.centre.calls[call_id]
    assert call.phase == "outside" and sim.switch.hears(call.caller_leg) == {call.outside_leg}
    assert sim.centre.agents[3].state == "ready"
    with pytest.raises(EngineError) as caught:
        sim.centre.call_transfer(agent_id=3, target="queue:NOPE")
    assert caught.value.code == "no_call"


def test_transfer_to_an_agent_who_is_not_ready_is_refused() -> None:
    sim, _observer = build()
    connected(sim, 1)
    with pytest.raises(EngineError) as caught:
        sim.centre.call_transfer(agent_id=1, target="agent:2")
    assert caught.value.code == "not_ready"
    with pytest.raises(EngineError) as caught:
        sim.centre.call_transfer(agent_id=1, target="queue:NOPE")
    assert caught.value.code == "unknown_queue"
    assert sim.centre.agents[1].state == "talking"


def test_consult_then_complete() -> None:
    sim, observer = build()
    call_id, leg = connected(sim, 1, talk_s=(600, 600))
    sim.centre.agent_login(agent_id=2)
    sim.centre.call_set_draft(agent_id=1, draft=DRAFT)
    consult_leg = sim.centre.call_consult(agent_id=1, target="agent:2")
    sim.run(3)
    agent_leg = sim.centre.calls[call_id].agent_leg
    assert sim.switch.playing(leg) == ("moh",)  # the caller holds with music
    assert sim.switch.hears(agent_leg) == {consult_leg} and sim.switch.hears(leg) == frozenset()
    assert observer.offers[-1].agent_id == 2 and observer.offers[-1].draft == DRAFT
    with pytest.raises(EngineError):
        sim.centre.call_hold(agent_id=1)
    sim.centre.call_consult_complete(agent_id=1)
    sim.run(1)
    call = sim.centre.calls[call_id]
    assert call.agent_id == 2 and sim.switch.hears(leg) == {consult_leg} and sim.switch.playing(leg) == ()
    assert sim.centre.agents[1].state == "wrap_up" and sim.centre.agents[2].state == "talking"
    sim.centre.call_hangup(agent_id=2)
    sim.run(1)
    record = sim.recorder.call_record(call_id)
    assert record.transfers == 1 and record.hold_s == 3.0 and record.data["draft"] == DRAFT
    assert sim.recorder.events(QE_TRANSFER)[0].data["consult"] is True


def test_consult_then_cancel_and_a_consult_nobody_answers() -> None:
    sim, _observer = build()
    call_id, leg = connected(sim, 1)
    sim.centre.agent_login(agent_id=2)
    sim.centre.call_consult(agent_id=1, target="agent:2")
    sim.run(3)
    with pytest.raises(EngineError):
        sim.centre.call_consult(agent_id=1, target="tel:110")
    sim.centre.call_consult_cancel(agent_id=1)
    sim.run(1)
    agent_leg = sim.centre.calls[call_id].agent_leg
    assert sim.switch.hears(leg) == {agent_leg} and sim.switch.playing(leg) == ()
    assert sim.centre.agents[2].state == "ready" and sim.centre.agents[1].state == "talking"

    sim.switch.endpoint("tel:12315", Endpoint(behaviour="no_answer"))
    sim.centre.call_consult(agent_id=1, target="tel:12315")
    sim.run(30)
    assert sim.centre.calls[call_id].phase == "talk" and sim.switch.hears(leg) == {agent_leg}
    assert sim.centre.calls[call_id].data["consult_failed"] == "no_answer"


def test_hold_unhold_and_mute() -> None:
    sim, _observer = build()
    call_id, leg = connected(sim, 1)
    agent_leg = sim.centre.calls[call_id].agent_leg
    sim.centre.call_hold(agent_id=1)
    assert sim.centre.agents[1].state == "hold" and sim.switch.playing(leg) == ("moh",)
    with pytest.raises(EngineError):
        sim.centre.call_hold(agent_id=1)
    sim.run(12)
    sim.centre.call_unhold(agent_id=1)
    assert sim.centre.agents[1].state == "talking" and sim.switch.hears(leg) == {agent_leg}
    sim.centre.call_mute(agent_id=1)
    assert sim.switch.hears(leg) == frozenset()
    sim.centre.call_mute(agent_id=1, muted=False)
    sim.centre.call_hangup(agent_id=1)
    sim.run(1)
    record = sim.recorder.call_record(call_id)
    assert record.hold_s == 12.0 and record.talk_s == 14.0 and record.outcome == "answered"
    assert sim.recorder.events(QE_COMPLETE)[0].data == {"ended_by": "agent"}


def test_three_way_call_with_a_department() -> None:
    sim, _observer = build()
    call_id, leg = connected(sim, 1)
    party = sim.centre.call_conference(agent_id=1, number="88001234")
    sim.run(2)
    agent_leg = sim.centre.calls[call_id].agent_leg
    assert sim.switch.hears(leg) == {agent_leg, party}
    sim.switch.party_hangup(party)
    sim.run(0)
    assert sim.switch.hears(leg) == {agent_leg}


def test_emergency_one_key_transfer_is_recorded() -> None:
    sim, _observer = build()
    call_id, _leg = connected(sim, 1)
    with pytest.raises(EngineError):
        sim.centre.call_emergency(agent_id=1, service="12306")
    sim.centre.call_emergency(agent_id=1, service="119")
    sim.run(60)
    transfer = sim.recorder.events(QE_TRANSFER)[0]
    assert transfer.data["to"] == "tel:119"
    assert sim.centre.calls[call_id].data["emergency"] == "119"


def test_dial_out_and_callback() -> None:
    sim, _observer = build()
    sim.centre.agent_login(agent_id=1, ready=False)
    sim.switch.endpoint("tel:13900000009", Endpoint(answer_after_s=4, talk_s=30))
    call_id = sim.centre.callback_dial(agent_id=1, number="13900000009", callback_id=77)
    sim.run(1)
    assert sim.centre.agents[1].state == "talking"
    sim.run(40)
    record = sim.recorder.call_record(call_id)
    assert (record.direction, record.outcome, record.called, record.talk_s) == (
        "outbound",
        "outbound",
        "13900000009",
        30.0,
    )
    assert record.data == {"callback_id": 77}
    assert sim.centre.agents[1].state == "ready"


def test_supervisor_listen_whisper_barge_with_the_supervisors_own_leg() -> None:
    sim, _observer = build()
    call_id, leg = connected(sim, 1)
    agent_leg = sim.centre.calls[call_id].agent_leg
    sup = sim.centre.supervise(by=9, extension="8001", agent_id=1, mode="listen")
    sim.run(1)
    assert sim.switch.hears(sup) == {agent_leg, leg} and sup not in sim.switch.hears(leg)
    sim.centre.supervise_end(leg_id=sup)
    whisper = sim.centre.supervise(by=9, extension="8001", agent_id=1, mode="whisper")
    sim.run(1)
    assert whisper in sim.switch.hears(agent_leg) and whisper not in sim.switch.hears(leg)
    barge = sim.centre.supervise(by=9, extension="8001", agent_id=1, mode="barge")
    sim.run(1)
    assert barge in sim.switch.hears(agent_leg) and barge in sim.switch.hears(leg)
    assert [s["mode"] for s in sim.centre.calls[call_id].data["supervision"]] == [
        "listen",
        "whisper",
        "barge",
    ]
    with pytest.raises(EngineError):
        sim.centre.supervise(by=9, extension="8001", agent_id=1, mode="shout")


def test_force_release_and_take_a_waiting_call() -> None:
    sim, _observer = build()
    call_id, _leg = connected(sim, 1)
    sim.centre.force_release(by=9, agent_id=1)
    sim.run(1)
    record = sim.recorder.call_record(call_id)
    assert record.data["released_by"] == 9 and sim.centre.agents[1].state == "wrap_up"
    assert not sim.switch.live_legs(call_id)

    sim.centre.agent_ready(agent_id=1)
    sim.centre.agent_pause(agent_id=1, reason="rest")
    waiting, _leg = sim.switch.incoming("13800000002", script=CallerScript(talk_s=30))
    sim.run(5)
    with pytest.raises(EngineError) as caught:
        sim.centre.call_take(by=9, call_id=waiting, agent_id=2)
    assert caught.value.code == "not_ready"  # agent 2 is logged out
    sim.centre.agent_login(agent_id=3)  # not a member of GEN
    sim.run(1)
    sim.centre.call_take(by=9, call_id=waiting, agent_id=3)
    sim.run(3)
    assert sim.recorder.events(QE_OFFER)[-1].data == {"taken_by": 9}
    assert sim.centre.calls[waiting].agent_id == 3


def test_the_caller_hanging_up_ends_the_agents_part_and_snapshot_shows_everyone() -> None:
    sim, observer = build()
    _call_id, leg = connected(sim, 1, 3)
    sim.switch.party_hangup(leg)
    sim.run(0)
    assert sim.centre.agents[1].state == "wrap_up"
    assert sim.recorder.events(QE_COMPLETE)[0].data == {"ended_by": "caller"}
    snapshot = sim.centre.snapshot()
    assert {a.agent_id: a.state for a in snapshot["agents"]} == {1: "wrap_up", 2: "logged_out", 3: "ready"}
    assert {q.code: (q.waiting, q.staffed) for q in snapshot["queues"]} == {"GEN": (0, 1), "LAW": (0, 1)}
    assert observer.agents[-1].state in ("wrap_up", "ready")
    assert len(sim.recorder.legs) == 2 and {x.kind for x in sim.recorder.legs} == {"caller", "agent"}


def test_records_are_settled_until_the_oldest_call_going_on_or_wrapped_up() -> None:
    sim, _observer = build()
    start = sim.switch.now()
    assert sim.centre.settled_until() == start  # nothing going on: everything so far is reported
    call_id, _leg = connected(sim, 1, talk_s=60)
    began = sim.centre.calls[call_id].started_at
    sim.run(30)
    second, _leg2 = sim.switch.incoming("13800000002", script=CallerScript(talk_s=600))
    sim.run(1)
    assert sim.centre.settled_until() == began  # the oldest call going on
    sim.run(45)  # the first caller hangs up after a minute's talk: Li wraps up for 20 s
    assert call_id not in sim.centre.calls and sim.centre.agents[1].state == "wrap_up"
    assert sim.centre.settled_until() == began  # the wrap-up still adds to that call's handle time
    sim.run(25)
    assert sim.centre.agents[1].state == "talking"  # on the second call now
    assert sim.centre.settled_until() == sim.centre.calls[second].started_at
    sim.run(700)
    assert not sim.centre.calls and sim.centre.agents[1].state == "ready"
    assert sim.centre.settled_until() == sim.switch.now()
