"""The IVR interpreter: menus, order status by tracking number, 0 to a human and back, collect,
survey, time conditions, voicemail, blacklist."""

from __future__ import annotations

from typing import Any

from hotline.callcenter.engine.config import AgentConfig, CentreConfig, QueueConfig
from hotline.callcenter.engine.memory import MemoryDirectory
from hotline.callcenter.engine.simulation import SimCentre
from hotline.callcenter.records import CallerInfo
from hotline.telephony.boundary import Hangup, Play
from hotline.telephony.simswitch import CallerScript, Endpoint, PromptLengths

FLOW: dict[str, Any] = {
    "start": "welcome",
    "human": "q_general",
    "nodes": {
        "welcome": {"type": "play", "prompts": ["welcome"], "next": "hours"},
        "hours": {"type": "time", "day": "menu", "night": "night_msg", "holiday": "night_msg"},
        "menu": {
            "type": "menu",
            "prompts": ["main_menu"],
            "options": {"1": "q_general", "2": "status", "3": "vm", "4": "collect"},
            "timeout_s": 5,
            "retries": 2,
            "invalid_prompts": ["invalid"],
            "on_fail": "q_general",
        },
        "status": {
            "type": "order_status",
            "prompts": ["enter_number"],
            "retries": 1,
            "next": "bye",
            "on_fail": "menu",
        },
        "collect": {
            "type": "collect",
            "prompts": ["enter_id"],
            "var": "id_number",
            "min_digits": 4,
            "max_digits": 18,
            "terminator": "#",
            "timeout_s": 8,
            "next": "bye",
            "on_fail": "menu",
        },
        "vm": {"type": "voicemail", "prompts": ["leave_message"], "max_seconds": 120, "next": "bye"},
        "q_general": {"type": "queue", "queue": "GEN"},
        "survey": {
            "type": "survey",
            "question": "satisfaction",
            "prompts": ["rate_service"],
            "options": {"1": "satisfied", "2": "basically_satisfied", "3": "unsatisfied"},
            "next": "bye",
        },
        "night_msg": {"type": "play", "prompts": ["closed"], "next": "vm"},
        "bye": {"type": "hangup", "prompts": ["goodbye"]},
    },
}


def build(
    *, period: str = "day", callers: dict[str, CallerInfo] | None = None, flows: dict[str, Any] | None = None
) -> SimCentre:
    config = CentreConfig(
        queues=(QueueConfig("GEN", wrap_up_s=0),),
        agents=(AgentConfig(1, "Li", "1001", {"GEN": 3}),),
        flows=flows
        or {
            "main": FLOW,
            "harass": {"start": "b", "nodes": {"b": {"type": "hangup", "prompts": ["warning"]}}},
        },
        hotlines={"12345": "main"},
        default_flow="main",
    )
    directory = MemoryDirectory(
        callers=callers or {}, orders={"2026112100123": "status_handling"}, period=period
    )
    return SimCentre(
        config,
        directory=directory,
        prompts=PromptLengths({"welcome": 4, "main_menu": 6}),
        default_endpoint=Endpoint(answer_after_s=1),
    )


def prompts_played(sim: SimCentre, leg: str) -> list[str]:
    return [p for c in sim.switch.log.commands if isinstance(c, Play) and c.leg_id == leg for p in c.prompts]


def test_order_status_by_tracking_number() -> None:
    sim = build()
    script = CallerScript(on_prompt={"main_menu": "2", "enter_number": "2026112100123#"})
    _call, leg = sim.switch.incoming("13800000001", script=script)
    sim.run(120)
    record = sim.recorder.calls[0]
    assert record.outcome == "ivr"
    assert record.ivr_path == ("welcome", "hours", "menu", "status", "bye")
    assert record.data["order_lookups"] == [{"number": "2026112100123", "status": "status_handling"}]
    assert prompts_played(sim, leg)[-2:] == ["status_handling", "goodbye"]


def test_unknown_tracking_number_is_asked_again_then_back_to_the_menu() -> None:
    sim = build()
    script = CallerScript(on_prompt={"main_menu": "2", "enter_number": "999#"}, hangup_after_s=60)
    _call, leg = sim.switch.incoming("13800000001", script=script)
    sim.run(120)
    played = prompts_played(sim, leg)
    first = played.index("enter_number")
    assert played[first : first + 5] == [
        "enter_number",
        "status_unknown",
        "enter_number",
        "status_unknown",
        "main_menu",
    ]
    assert sim.recorder.calls[0].ivr_path[:6] == ("welcome", "hours", "menu", "status", "menu", "status")


def test_zero_reaches_a_human_and_an_agent_sends_the_caller_back_to_the_menu_left() -> None:
    sim = build()
    sim.centre.agent_login(agent_id=1)
    script = CallerScript(on_prompt={"main_menu": "0", "enter_id": "11010519491231002X#"}, talk_s=(30, 30))
    _call, leg = sim.switch.incoming("13800000001", script=script)
    sim.run(20)
    assert sim.centre.agents[1].state == "talking"
    sim.centre.call_transfer(agent_id=1, target="ivr")
    sim.run(0.5)
    assert prompts_played(sim, leg)[-1] == "main_menu"  # back where the caller pressed 0
    assert sim.centre.agents[1].state == "ready"
    sim.run(60)  # presses 0 again: the agent takes the call a second time
    record = sim.recorder.calls[0]
    assert record.ivr_path == ("welcome", "hours", "menu", "q_general", "menu", "q_general")
    assert record.transfers == 1 and record.data["pressed_zero_at"] == "menu"


def test_collect_stores_digits_in_the_call_data() -> None:
    sim = build()
    script = CallerScript(on_prompt={"main_menu": "4", "enter_id": "1101051949#"})
    sim.switch.incoming("13800000001", script=script)
    sim.run(120)
    assert sim.recorder.calls[0].data["id_number"] == "1101051949"


def test_menu_retries_then_on_fail() -> None:
    sim = build()
    sim.centre.agent_login(agent_id=1)
    _call, leg = sim.switch.incoming(
        "13800000001", script=CallerScript(on_prompt={"main_menu": "9"}, talk_s=10)
    )
    sim.run(120)
    played = prompts_played(sim, leg)
    assert played.count("invalid") == 2 and played.count("main_menu") == 3
    assert sim.recorder.calls[0].outcome == "answered" and sim.recorder.calls[0].queue == "GEN"

    sim = build()
    sim.centre.agent_login(agent_id=1)
    _call, leg = sim.switch.incoming("13800000002", script=CallerScript(talk_s=10))  # silent caller
    sim.run(120)
    assert prompts_played(sim, leg).count("main_menu") == 3
    assert sim.recorder.calls[0].queue == "GEN"


def test_night_goes_to_the_closed_message_and_voicemail() -> None:
    sim = build(period="night")
    sim.switch.incoming("13800000001", script=CallerScript(message_s=25))
    sim.run(200)
    record = sim.recorder.calls[0]
    assert record.ivr_path == ("welcome", "hours", "night_msg", "vm", "bye")
    assert record.outcome == "voicemail"
    assert sim.recorder.voicemails[0].seconds == 25


def test_survey_after_the_agent_hangs_up() -> None:
    sim = build()
    sim.centre.agent_login(agent_id=1)
    script = CallerScript(on_prompt={"main_menu": "1", "rate_service": "2"})
    sim.switch.incoming("13800000001", script=script)
    sim.run(30)
    sim.centre.call_hangup(agent_id=1, survey=True)
    sim.run(60)
    record = sim.recorder.calls[0]
    assert record.outcome == "answered"
    assert record.data["survey"] == {"satisfaction": "basically_satisfied"}
    assert record.ivr_path[-2:] == ("survey", "bye")


def test_blacklisted_caller_is_refused_or_sent_to_a_given_flow() -> None:
    callers = {
        "harasser": CallerInfo("harasser", blacklisted=True, blacklist_action="refuse"),
        "nuisance": CallerInfo("nuisance", blacklisted=True, blacklist_action="flow:harass"),
    }
    sim = build(callers=callers)
    _call, refused_leg = sim.switch.incoming("harasser")
    _call, nuisance_leg = sim.switch.incoming("nuisance")
    sim.run(30)
    records = {r.caller: r for r in sim.recorder.calls}
    assert records["harasser"].outcome == "refused"
    assert Hangup(refused_leg, "call_rejected") in sim.switch.log.commands
    assert records["nuisance"].ivr_path == ("b",)
    assert prompts_played(sim, nuisance_leg) == ["warning"]


def test_a_flow_with_an_unknown_node_type_or_a_missing_node_ends_the_call_politely() -> None:
    flows = {
        "main": {
            "start": "a",
            "nodes": {"a": {"type": "play", "prompts": ["welcome"], "next": "b"}, "b": {"type": "teleport"}},
        },
        "other": {"start": "x", "nodes": {"x": {"type": "play", "prompts": ["welcome"], "next": "gone"}}},
    }
    callers = {"sent": CallerInfo("sent", blacklisted=True, blacklist_action="flow:other")}
    sim = build(flows=flows, callers=callers)
    sim.switch.incoming("13800000001")
    sim.switch.incoming("sent")  # reaches "other", whose play leads to a node that is not there
    sim.run(30)
    paths = {r.caller: (r.outcome, r.ivr_path) for r in sim.recorder.calls}
    assert paths == {"13800000001": ("ivr", ("a", "b")), "sent": ("ivr", ("x",))}
    assert not sim.switch.live_legs()
