"""Agent sessions: the state table, locking after unanswered offers, wrap-up, pauses, off-hook."""

from __future__ import annotations

import pytest

from hotline.callcenter.engine.agents import TRANSITIONS, next_state
from hotline.callcenter.engine.config import AgentConfig, CentreConfig, QueueConfig
from hotline.callcenter.engine.errors import EngineError
from hotline.callcenter.engine.simulation import SimCentre, direct_flow
from hotline.callcenter.records import AGENT_STATES, QE_AGENT_LOGIN, QE_AGENT_PAUSE, QE_NO_ANSWER
from hotline.telephony.simswitch import BUSY, NO_ANSWER, CallerScript, Endpoint


def centre(*, wrap_up_s: float = 30, lock_after: int = 3, ring_timeout_s: int = 10) -> SimCentre:
    config = CentreConfig(
        queues=(QueueConfig("GEN", wrap_up_s=wrap_up_s, ring_timeout_s=ring_timeout_s),),
        agents=(AgentConfig(1, "Li", "1001", {"GEN": 3}), AgentConfig(2, "Wang", "1002", {"GEN": 3})),
        flows={"main": direct_flow("GEN")},
        default_flow="main",
        lock_after_no_answers=lock_after,
    )
    return SimCentre(config, default_endpoint=Endpoint(answer_after_s=2))


def test_every_transition_goes_between_named_states() -> None:
    for moves in TRANSITIONS.values():
        for source, target in moves.items():
            assert source in AGENT_STATES and target in AGENT_STATES


def test_ready_while_talking_is_a_bad_state() -> None:
    with pytest.raises(EngineError) as caught:
        next_state("talking", "ready")
    assert caught.value.code == "bad_state"
    sim = centre()
    sim.centre.agent_login(agent_id=1)
    sim.switch.incoming("13800000001", script=CallerScript(talk_s=100))
    sim.run(5)
    assert sim.centre.agents[1].state == "talking"
    with pytest.raises(EngineError) as caught:
        sim.centre.agent_ready(agent_id=1)
    assert caught.value.code == "bad_state"


def test_a_call_runs_ready_ringing_talking_wrap_up_then_ready_when_wrap_up_expires() -> None:
    sim = centre(wrap_up_s=30)
    sim.centre.agent_login(agent_id=1)
    sim.switch.incoming("13800000001", script=CallerScript(talk_s=60))
    sim.run(63)  # rings 2 s, talks 60 s
    assert sim.centre.agents[1].state == "wrap_up"
    sim.run(28.5)  # the call ended at 62 s: wrap-up lasts until 92 s
    assert sim.centre.agents[1].state == "wrap_up"
    sim.run(1)
    assert sim.recorder.states_of(1) == ["ready", "ringing", "talking", "wrap_up", "ready"]
    changes = [c for c in sim.recorder.agent_states if c.agent_id == 1]
    assert (changes[-1].at - changes[-2].at).total_seconds() == 30
    assert changes[1].call_id == changes[2].call_id == "C1"
    assert sim.recorder.events(QE_AGENT_LOGIN)[0].agent_id == 1


def test_the_agent_may_end_wrap_up_early() -> None:
    sim = centre(wrap_up_s=120)
    sim.centre.agent_login(agent_id=1)
    sim.switch.incoming("13800000001", script=CallerScript(talk_s=10))
    sim.run(20)
    assert sim.centre.agents[1].state == "wrap_up"
    sim.centre.agent_ready(agent_id=1)
    assert sim.centre.agents[1].state == "ready"
    sim.run(200)  # the old wrap-up timer must not fire into a later state
    assert sim.recorder.states_of(1) == ["ready", "ringing", "talking", "wrap_up", "ready"]


def test_locked_after_n_unanswered_offers_in_a_row_then_unlocked_by_a_supervisor() -> None:
    sim = centre(lock_after=3, ring_timeout_s=10)
    sim.switch.endpoint("ext:1001", Endpoint(behaviour=NO_ANSWER))
    sim.centre.agent_login(agent_id=1)
    sim.switch.incoming("13800000001", script=CallerScript(talk_s=30))
    sim.run(35)
    agent = sim.centre.agents[1]
    assert agent.state == "locked" and agent.reason == "no_answer"
    assert sim.recorder.states_of(1) == ["ready", "ringing", "ready", "ringing", "ready", "ringing", "locked"]
    assert len(sim.recorder.events(QE_NO_ANSWER)) == 3
    with pytest.raises(EngineError):
        sim.centre.agent_ready(agent_id=1)
    sim.switch.endpoint("ext:1001", Endpoint(answer_after_s=1))
    sim.centre.agent_unlock(agent_id=1, by=99)
    assert sim.recorder.agent_states[-2].state == "ready" or sim.recorder.agent_states[-1].state in (
        "ringing",
        "ready",
    )
    unlock = next(c for c in sim.recorder.agent_states if c.by == 99)
    assert unlock.state == "ready"
    sim.run(5)
    assert agent.state == "talking" and agent.no_answers_in_row == 0


def test_an_answered_offer_resets_the_no_answer_count() -> None:
    sim = centre(lock_after=2)
    script = iter([Endpoint(behaviour=NO_ANSWER), Endpoint(answer_after_s=1), Endpoint(behaviour=NO_ANSWER)])
    sim.switch.endpoint("ext:1001", lambda _cmd: next(script))
    sim.centre.agent_login(agent_id=1)
    sim.switch.incoming("1", script=CallerScript(talk_s=5))
    sim.run(60)
    assert sim.centre.agents[1].state != "locked"


def test_busy_phone_goes_off_hook_and_is_counted() -> None:
    sim = centre()
    sim.switch.endpoint("ext:1001", Endpoint(behaviour=BUSY, code=486))
    sim.centre.agent_login(agent_id=1)
    sim.centre.agent_login(agent_id=2)
    sim.centre.agent_pause(agent_id=2, reason="meeting")
    sim.switch.incoming("13800000001", script=CallerScript(talk_s=30))
    sim.run(1)
    agent = sim.centre.agents[1]
    assert agent.state == "off_hook" and agent.off_hooks == 1
    sim.centre.agent_ready(agent_id=1)  # the agent says the phone is free again
    assert sim.recorder.states_of(1)[-2:] == ["off_hook", "ready"] or agent.state == "ringing"


def test_pause_with_reason_and_pause_asked_during_a_call_starts_after_it() -> None:
    sim = centre()
    sim.centre.agent_login(agent_id=1, ready=False)
    assert sim.centre.agents[1].state == "paused"
    sim.centre.agent_ready(agent_id=1)
    sim.switch.incoming("13800000001", script=CallerScript(talk_s=30))
    sim.run(5)
    view = sim.centre.agent_pause(agent_id=1, reason="rest")
    assert view.state == "talking"
    sim.run(40)
    agent = sim.centre.agents[1]
    assert agent.state == "paused" and agent.reason == "rest"
    sim.centre.agent_pause(agent_id=1, reason="lunch", by=7)
    assert sim.recorder.events(QE_AGENT_PAUSE)[-1].data == {"reason": "lunch", "by": 7}
    assert sim.recorder.agent_states[-1].by == 7 and sim.recorder.agent_states[-1].reason == "lunch"


def test_logout_only_when_idle_and_forced_sign_out_records_the_supervisor() -> None:
    sim = centre()
    sim.centre.agent_login(agent_id=1)
    sim.switch.incoming("13800000001", script=CallerScript(talk_s=30))
    sim.run(5)
    with pytest.raises(EngineError):
        sim.centre.agent_logout(agent_id=1)
    sim.run(100)
    sim.centre.agent_logout(agent_id=1, by=42)
    last = sim.recorder.agent_states[-1]
    assert (last.state, last.by, last.reason) == ("logged_out", 42, "supervisor")
    with pytest.raises(EngineError) as caught:
        sim.centre.agent_ready(agent_id=77)
    assert caught.value.code == "unknown_agent"
