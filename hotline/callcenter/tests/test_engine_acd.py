"""Queues and routing: strategies, tiers, priority, last agent, regions, overflow, maximum wait,
announcements, abandons."""

from __future__ import annotations

from collections.abc import Sequence

from hotline.callcenter.engine.config import AgentConfig, CentreConfig, QueueConfig
from hotline.callcenter.engine.memory import MemoryDirectory
from hotline.callcenter.engine.simulation import SimCentre, direct_flow
from hotline.callcenter.records import (
    QE_ABANDON,
    QE_ALL_BUSY,
    QE_CALLBACK,
    QE_CONNECT,
    QE_ENTER,
    QE_OFFER,
    QE_OVERFLOW,
    QE_TIMEOUT,
    QE_VOICEMAIL,
    CallerInfo,
)
from hotline.telephony.boundary import Play
from hotline.telephony.simswitch import NO_ANSWER, CallerScript, Endpoint


def build(
    queues: Sequence[QueueConfig],
    agents: Sequence[AgentConfig],
    *,
    callers: dict[str, CallerInfo] | None = None,
    flows: dict[str, object] | None = None,
    answer_after_s: float = 1,
    **centre: object,
) -> SimCentre:
    config = CentreConfig(
        queues=tuple(queues),
        agents=tuple(agents),
        flows=flows or {"main": direct_flow(queues[0].code)},  # type: ignore[dict-item]
        default_flow="main",
        **centre,  # type: ignore[arg-type]
    )
    return SimCentre(
        config,
        directory=MemoryDirectory(callers=callers or {}),
        default_endpoint=Endpoint(answer_after_s=answer_after_s),
    )


def team(n: int, queue: str = "GEN", level: int = 3) -> list[AgentConfig]:
    return [AgentConfig(i, f"agent {i}", str(1000 + i), {queue: level}) for i in range(1, n + 1)]


def offered_to(sim: SimCentre) -> list[int | None]:
    return [e.agent_id for e in sim.recorder.events(QE_OFFER)]


def serve_one_by_one(sim: SimCentre, calls: int, *, talk_s: float = 10, gap_s: float = 100) -> None:
    for i in range(calls):
        sim.switch.incoming(f"1380000{i:04d}", script=CallerScript(talk_s=talk_s))
        sim.run(gap_s)


def test_longest_idle_offers_the_agent_ready_longest() -> None:
    sim = build([QueueConfig("GEN", strategy="longest_idle", wrap_up_s=0)], team(3))
    for agent_id in (2, 3, 1):
        sim.centre.agent_login(agent_id=agent_id)
        sim.run(1)
    serve_one_by_one(sim, 4)
    assert offered_to(sim) == [2, 3, 1, 2]


def test_fewest_calls_and_least_talk_time() -> None:
    sim = build([QueueConfig("GEN", strategy="fewest_calls", wrap_up_s=0)], team(2))
    sim.centre.agent_login(agent_id=1)
    sim.switch.incoming("1", script=CallerScript(talk_s=10))
    sim.switch.incoming("2", script=CallerScript(talk_s=10))
    sim.run(100)  # agent 1 took two calls alone
    sim.centre.agent_login(agent_id=2)
    sim.run(10)
    serve_one_by_one(sim, 3)
    assert offered_to(sim)[2:] == [2, 2, 1]  # 2 catches up with 1's two calls first

    sim = build([QueueConfig("GEN", strategy="least_talk_time", wrap_up_s=0)], team(2))
    sim.centre.agent_login(agent_id=1)
    sim.centre.agent_login(agent_id=2)
    sim.switch.incoming("1", script=CallerScript(talk_s=300))  # to 1 (ready first)
    sim.switch.incoming("2", script=CallerScript(talk_s=20))  # to 2
    sim.run(400)
    serve_one_by_one(sim, 2, talk_s=100, gap_s=200)
    assert offered_to(sim) == [1, 2, 2, 2]  # 2 has talked 20 s, then 120 s: still less than 300


def test_round_robin_goes_around_and_top_down_always_starts_at_the_top() -> None:
    sim = build([QueueConfig("GEN", strategy="round_robin", wrap_up_s=0)], team(3))
    for agent_id in (3, 1, 2):
        sim.centre.agent_login(agent_id=agent_id)
    serve_one_by_one(sim, 6)
    assert offered_to(sim) == [1, 2, 3, 1, 2, 3]

    sim = build([QueueConfig("GEN", strategy="top_down", wrap_up_s=0)], team(3))
    for agent_id in (3, 2, 1):
        sim.centre.agent_login(agent_id=agent_id)
    serve_one_by_one(sim, 3)
    sim.switch.incoming("a", script=CallerScript(talk_s=50))
    sim.switch.incoming("b", script=CallerScript(talk_s=50))
    sim.run(100)
    assert offered_to(sim) == [1, 1, 1, 1, 2]


def test_ring_all_rings_every_eligible_agent_and_the_first_to_answer_wins() -> None:
    sim = build([QueueConfig("GEN", strategy="ring_all", wrap_up_s=0)], team(3))
    sim.switch.endpoint("ext:1001", Endpoint(answer_after_s=5))
    sim.switch.endpoint("ext:1002", Endpoint(answer_after_s=2))
    sim.switch.endpoint("ext:1003", Endpoint(answer_after_s=8))
    for agent_id in (1, 2, 3):
        sim.centre.agent_login(agent_id=agent_id)
    sim.switch.incoming("1", script=CallerScript(talk_s=100))
    sim.run(3)
    assert sorted(offered_to(sim)) == [1, 2, 3]  # type: ignore[type-var]
    states = {a: sim.centre.agents[a].state for a in (1, 2, 3)}
    assert states == {1: "ready", 2: "talking", 3: "ready"}
    assert [e.agent_id for e in sim.recorder.events(QE_CONNECT)] == [2]
    assert sim.centre.agents[1].no_answers_in_row == 0  # a withdrawn ring is not a missed one


def test_tiers_widen_with_the_wait() -> None:
    queue = QueueConfig("GEN", tiers=((0, 4), (30, 2), (60, 1)), wrap_up_s=0)
    agents = [
        AgentConfig(1, "junior", "1001", {"GEN": 1}),
        AgentConfig(2, "middle", "1002", {"GEN": 2}),
        AgentConfig(3, "senior", "1003", {"GEN": 5}),
    ]
    sim = build([queue], agents)
    sim.centre.agent_login(agent_id=1)
    sim.centre.agent_login(agent_id=2)
    sim.switch.incoming("1", script=CallerScript(talk_s=100))
    sim.run(29)
    assert offered_to(sim) == []
    sim.run(2)  # 30 s: level 2 may take it
    assert offered_to(sim) == [2]
    sim.switch.incoming("2", script=CallerScript(talk_s=100))
    sim.run(59)
    assert offered_to(sim) == [2]
    sim.run(2)  # 60 s: everyone
    assert offered_to(sim) == [2, 1]
    sim.centre.agent_login(agent_id=3)
    sim.switch.incoming("3", script=CallerScript(talk_s=10))
    sim.run(2)
    assert offered_to(sim) == [2, 1, 3]  # a senior takes a new caller at once


def test_an_agent_becoming_ready_takes_the_caller_their_level_allows() -> None:
    queue = QueueConfig("GEN", tiers=((0, 4), (30, 1)), wrap_up_s=0)
    sim = build([queue], [AgentConfig(1, "junior", "1001", {"GEN": 1})])
    sim.switch.incoming("1", script=CallerScript(talk_s=10))
    sim.run(10)
    sim.centre.agent_login(agent_id=1)  # too early for a junior
    sim.run(1)
    assert offered_to(sim) == []
    sim.run(20)
    assert offered_to(sim) == [1]


def test_vip_and_repeat_callers_jump_the_queue() -> None:
    callers = {
        "vip": CallerInfo("vip", vip=True),
        "again": CallerInfo("again", repeat_within_hours=True),
    }
    sim = build(
        [QueueConfig("GEN", vip_priority=10, repeat_priority=5, wrap_up_s=0)], team(1), callers=callers
    )
    sim.centre.agent_login(agent_id=1)
    sim.switch.incoming("first", script=CallerScript(talk_s=60))
    sim.run(2)
    for number in ("plain", "again", "vip"):
        sim.switch.incoming(number, script=CallerScript(talk_s=60))
        sim.run(1)
    sim.run(400)
    served = [sim.recorder.call_record(e.call_id).caller for e in sim.recorder.events(QE_CONNECT)]
    assert served == ["first", "vip", "again", "plain"]
    priorities = {r.caller: r.priority for r in sim.recorder.calls}
    assert priorities == {"first": 0, "plain": 0, "again": 5, "vip": 10}


def test_a_returning_caller_goes_to_the_agent_who_served_them_if_ready_soon() -> None:
    callers = {"back": CallerInfo("back", last_agent_id=2)}
    sim = build([QueueConfig("GEN", wrap_up_s=5)], team(3), callers=callers, last_agent_wait_s=10)
    for agent_id in (1, 2, 3):
        sim.centre.agent_login(agent_id=agent_id)
    sim.switch.incoming("back", script=CallerScript(talk_s=10))
    sim.run(20)
    assert offered_to(sim) == [2]  # not agent 1, who was ready longest


def test_the_wait_for_the_last_agent_lasts_a_few_seconds_only() -> None:
    callers = {"back": CallerInfo("back", last_agent_id=2)}
    sim = build([QueueConfig("GEN", wrap_up_s=0)], team(2), callers=callers, last_agent_wait_s=10)
    sim.centre.agent_login(agent_id=2)
    sim.switch.incoming("z", script=CallerScript(talk_s=100))  # agent 2 is busy for a while
    sim.run(2)
    sim.centre.agent_login(agent_id=1)
    sim.switch.incoming("back", script=CallerScript(talk_s=10))
    sim.run(9)
    assert offered_to(sim) == [2]  # agent 1 is ready, but the caller is kept for agent 2
    sim.run(2)
    offer = sim.recorder.events(QE_OFFER)[-1]
    assert (offer.agent_id, offer.wait_s) == (1, 10.0)


def test_region_routing_sends_a_district_caller_to_the_district_queue() -> None:
    flow = {
        "start": "menu",
        "human": "q",
        "nodes": {
            "menu": {"type": "menu", "prompts": ["main_menu"], "options": {"1": "q"}, "on_fail": "q"},
            "q": {"type": "queue", "queue": "GEN"},
        },
    }
    queues = [QueueConfig("GEN"), QueueConfig("EAST", region_code="110101")]
    agents = [AgentConfig(1, "", "1001", {"GEN": 3}), AgentConfig(2, "", "1002", {"EAST": 3})]
    callers = {
        "east": CallerInfo("east", region_code="110101"),
        "west": CallerInfo("west", region_code="110102"),
    }
    sim = build(queues, agents, callers=callers, flows={"main": flow})
    sim.centre.agent_login(agent_id=1)
    sim.centre.agent_login(agent_id=2)
    sim.switch.incoming("east", script=CallerScript(on_prompt={"main_menu": "1"}, talk_s=30))
    sim.switch.incoming("west", script=CallerScript(on_prompt={"main_menu": "1"}, talk_s=30))
    sim.run(100)
    records = {r.caller: r for r in sim.recorder.calls}
    assert (records["east"].queue, records["east"].agent_id) == ("EAST", 2)
    assert (records["west"].queue, records["west"].agent_id) == ("GEN", 1)
    assert records["east"].data["region_routed"] == "110101"


def test_overflow_to_another_queue_after_n_seconds() -> None:
    queues = [QueueConfig("GEN", overflow_queue="BACKUP", overflow_after_s=20), QueueConfig("BACKUP")]
    agents = [AgentConfig(1, "", "1001", {"BACKUP": 3})]
    sim = build(queues, agents)
    sim.centre.agent_login(agent_id=1)
    sim.switch.incoming("1", script=CallerScript(talk_s=30))
    sim.run(19)
    assert offered_to(sim) == []
    sim.run(5)
    overflow = sim.recorder.events(QE_OVERFLOW)[0]
    assert (overflow.queue, overflow.wait_s, overflow.data) == ("GEN", 20.0, {"to": "BACKUP"})
    assert [e.queue for e in sim.recorder.events(QE_ENTER)] == ["GEN", "BACKUP"]
    sim.run(100)
    record = sim.recorder.calls[0]
    assert (record.queue, record.outcome, record.wait_s) == ("BACKUP", "answered", 21.0)


def test_maximum_wait_to_voicemail() -> None:
    sim = build([QueueConfig("GEN", max_wait_s=60, max_wait_action="voicemail")], team(1))
    sim.switch.incoming("1", script=CallerScript(message_s=15))
    sim.run(300)
    assert sim.recorder.events(QE_TIMEOUT)[0].wait_s == 60
    assert len(sim.recorder.events(QE_VOICEMAIL)) == 1
    voicemail = sim.recorder.voicemails[0]
    assert voicemail.seconds == 15 and voicemail.path.endswith("C1.wav")
    assert sim.recorder.calls[0].outcome == "voicemail"


def test_maximum_wait_offers_a_callback_the_caller_accepts_with_1() -> None:
    sim = build([QueueConfig("GEN", max_wait_s=60, max_wait_action="callback")], team(1))
    sim.switch.incoming("13800000001", script=CallerScript(on_prompt={"callback_offer": "1"}))
    sim.switch.incoming("13800000002")
    sim.run(300)
    assert len(sim.recorder.events(QE_CALLBACK)) == 1
    assert [(c.caller, c.queue) for c in sim.recorder.callbacks] == [("13800000001", "GEN")]
    outcomes = {r.caller: r.outcome for r in sim.recorder.calls}
    assert outcomes == {"13800000001": "callback"}  # the other one is still waiting
    assert sim.centre.queues["GEN"].waiting == 1


def test_maximum_wait_hangup() -> None:
    sim = build([QueueConfig("GEN", max_wait_s=30, max_wait_action="hangup")], team(1))
    sim.switch.incoming("1")
    sim.run(100)
    record = sim.recorder.calls[0]
    assert record.outcome == "failed" and record.data["reason"] == "max_wait"
    assert record.wait_s == 30


def test_abandon_is_logged_with_position_and_wait_and_all_busy_at_entry() -> None:
    sim = build([QueueConfig("GEN")], team(1), short_abandon_s=5)
    sim.centre.agent_login(agent_id=1)
    sim.switch.incoming("busy-maker", script=CallerScript(talk_s=500))
    sim.run(2)
    sim.switch.incoming("a", script=CallerScript(patience_s=100))
    sim.switch.incoming("b", script=CallerScript(patience_s=40))
    sim.switch.incoming("c", script=CallerScript(patience_s=3))
    sim.run(200)
    abandons = {sim.recorder.call_record(e.call_id).caller: e for e in sim.recorder.events(QE_ABANDON)}
    assert (abandons["c"].position, abandons["c"].wait_s, abandons["c"].data["short"]) == (3, 3.0, True)
    assert (abandons["b"].position, abandons["b"].wait_s, abandons["b"].data["short"]) == (2, 40.0, False)
    assert (abandons["a"].position, abandons["a"].wait_s) == (1, 100.0)
    assert len(sim.recorder.events(QE_ALL_BUSY)) == 3
    assert sim.recorder.call_record(abandons["a"].call_id).outcome == "abandoned"


def test_announcements_and_music_never_leave_the_caller_in_silence() -> None:
    sim = build([QueueConfig("GEN", announce_every_s=30, ring_timeout_s=10, music="erhu")], team(2))
    sim.switch.endpoint("ext:1001", Endpoint(behaviour=NO_ANSWER))
    sim.centre.agent_login(agent_id=2)
    sim.switch.incoming("busy-maker", script=CallerScript(talk_s=500))
    sim.run(2)
    _call, leg = sim.switch.incoming("waiting", script=CallerScript(patience_s=200))
    sim.run(29)
    assert sim.switch.playing(leg) == ("erhu",)
    sim.run(2)  # 30 s after entering: position and expected wait (1 × 180 s / 1 agent → 3 minutes)
    assert sim.switch.playing(leg) == ("position:1", "wait_minutes:3")
    sim.run(5)
    assert sim.switch.playing(leg) == ("erhu",)
    sim.centre.agent_login(agent_id=1)  # rings, never answers
    for _ in range(20):
        sim.run(1)
        assert sim.switch.playing(leg) in (("erhu",), ("position:1", "wait_minutes:2"))
    assert sim.centre.agents[1].no_answers_in_row == 2
    plays = [c for c in sim.switch.log.commands if isinstance(c, Play) and c.leg_id == leg]
    assert all(p.loop for p in plays if p.prompts == ("erhu",))


def test_new_skills_take_effect_for_a_ready_agent_and_views_count_ready_and_staffed() -> None:
    queues = [QueueConfig("LAW"), QueueConfig("GEN")]  # callers go straight to LAW
    sim = build(queues, [AgentConfig(1, "", "1001", {"GEN": 3})])
    sim.centre.agent_login(agent_id=1)
    assert (sim.centre.queue_view("GEN").ready, sim.centre.queue_view("GEN").staffed) == (1, 1)
    sim.switch.incoming("1", script=CallerScript(talk_s=10))
    sim.run(5)
    assert offered_to(sim) == [] and sim.centre.queue_view("LAW").waiting == 1
    sim.centre.agent_configure(AgentConfig(1, "", "1001", {"GEN": 3, "LAW": 2}))
    sim.run(2)
    assert offered_to(sim) == [1]
    assert sim.centre.queue_view("LAW").staffed == 1 and sim.centre.queue_view("GEN").ready == 0
