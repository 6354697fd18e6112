"""IVR flow validation: each error code with the smallest flow that shows it."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from hotline.callcenter.demo import DIRECT_FLOW, MAIN_FLOW
from hotline.callcenter.ivr_validate import FlowError, validate_flow

QUEUES = {"GENERAL", "ENTERPRISE"}

# The example of the shared contract, in full.
CONTRACT_EXAMPLE: dict[str, Any] = {
    "start": "welcome",
    "human": "q_general",
    "nodes": {
        "welcome": {"type": "play", "prompts": ["welcome"], "next": "hours"},
        "hours": {"type": "time", "day": "menu", "night": "night_msg", "holiday": "night_msg"},
        "menu": {
            "type": "menu",
            "prompts": ["main_menu"],
            "options": {
                "1": "q_general",
                "2": "status",
                "3": "vm",
                "4": "collect",
                "5": "police",
                "6": "survey",
            },
            "timeout_s": 5,
            "retries": 2,
            "invalid_prompts": ["invalid"],
            "on_fail": "q_general",
        },
        "status": {
            "type": "order_status",
            "prompts": ["enter_number"],
            "retries": 2,
            "next": "menu",
            "on_fail": "menu",
        },
        "collect": {
            "type": "collect",
            "prompts": ["enter_id"],
            "var": "id_number",
            "min_digits": 1,
            "max_digits": 18,
            "terminator": "#",
            "timeout_s": 8,
            "next": "menu",
            "on_fail": "menu",
        },
        "vm": {"type": "voicemail", "prompts": ["leave_message"], "max_seconds": 120, "next": "bye"},
        "q_general": {"type": "queue", "queue": "GENERAL"},
        "police": {"type": "transfer", "target": "tel:110"},
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


def codes(errors: list[FlowError]) -> set[tuple[str | None, str | None, str]]:
    return {(e.node, e.field, e.code) for e in errors}


def q(code: str = "GENERAL") -> dict[str, Any]:
    return {"type": "queue", "queue": code}


@pytest.mark.parametrize(
    "flow", [CONTRACT_EXAMPLE, MAIN_FLOW, DIRECT_FLOW], ids=["contract", "main", "direct"]
)
def test_valid_flows_have_no_errors(flow: dict[str, Any]) -> None:
    assert validate_flow(flow, queue_codes=QUEUES) == []


def test_missing_start() -> None:
    assert codes(validate_flow({"nodes": {"q": q()}}, queue_codes=QUEUES)) >= {
        (None, "start", "missing_start")
    }


def test_start_naming_no_node_is_unknown_node() -> None:
    errors = validate_flow({"start": "x", "nodes": {"q": q()}}, queue_codes=QUEUES)
    assert (None, "start", "unknown_node") in codes(errors)


def test_unknown_node() -> None:
    flow = {"start": "a", "nodes": {"a": {"type": "play", "prompts": ["hi"], "next": "nowhere"}}}
    assert ("a", "next", "unknown_node") in codes(validate_flow(flow, queue_codes=QUEUES))


def test_unreachable() -> None:
    flow = {"start": "q", "nodes": {"q": q(), "lost": {"type": "hangup"}}}
    assert codes(validate_flow(flow, queue_codes=QUEUES)) == {("lost", None, "unreachable")}


def test_no_exit_loop() -> None:
    flow = {
        "start": "a",
        "nodes": {
            "a": {"type": "play", "prompts": ["one"], "next": "b"},
            "b": {"type": "play", "prompts": ["two"], "next": "a"},
        },
    }
    assert codes(validate_flow(flow, queue_codes=QUEUES)) == {("a", None, "no_exit"), ("b", None, "no_exit")}


def test_menu_key_zero_is_an_exit() -> None:
    """A menu whose options all loop still lets the caller out through 0 → human."""
    flow = {
        "start": "m",
        "human": "q",
        "nodes": {
            "m": {"type": "menu", "prompts": ["menu"], "options": {"1": "m"}, "on_fail": "m"},
            "q": q(),
        },
    }
    assert validate_flow(flow, queue_codes=QUEUES) == []


def test_bad_type() -> None:
    flow = {"start": "a", "nodes": {"a": {"type": "dance"}}}
    assert ("a", "type", "bad_type") in codes(validate_flow(flow, queue_codes=QUEUES))
    assert codes(validate_flow([], queue_codes=QUEUES)) == {(None, None, "bad_type")}


def test_missing_field() -> None:
    flow = {"start": "a", "nodes": {"a": {"type": "play", "prompts": ["hi"]}}}
    assert ("a", "next", "missing_field") in codes(validate_flow(flow, queue_codes=QUEUES))
    no_type = {"start": "a", "nodes": {"a": {"prompts": ["hi"]}}}
    assert ("a", "type", "missing_field") in codes(validate_flow(no_type, queue_codes=QUEUES))


def test_bad_value() -> None:
    flow = {"start": "a", "nodes": {"a": {"type": "transfer", "target": "smtp:someone"}}}
    assert codes(validate_flow(flow, queue_codes=QUEUES)) == {("a", "target", "bad_value")}
    collect = copy.deepcopy(CONTRACT_EXAMPLE)
    collect["nodes"]["collect"]["max_digits"] = 99
    assert codes(validate_flow(collect, queue_codes=QUEUES)) == {("collect", "max_digits", "bad_value")}


def test_bad_digit() -> None:
    flow = copy.deepcopy(CONTRACT_EXAMPLE)
    flow["nodes"]["menu"]["options"]["12"] = "vm"
    assert codes(validate_flow(flow, queue_codes=QUEUES)) == {("menu", "options.12", "bad_digit")}


def test_reserved_digit() -> None:
    flow = copy.deepcopy(CONTRACT_EXAMPLE)
    flow["nodes"]["menu"]["options"]["0"] = "vm"
    assert codes(validate_flow(flow, queue_codes=QUEUES)) == {("menu", "options.0", "reserved_digit")}


def test_missing_human() -> None:
    flow = copy.deepcopy(CONTRACT_EXAMPLE)
    del flow["human"]
    assert codes(validate_flow(flow, queue_codes=QUEUES)) == {(None, "human", "missing_human")}
    flow["human"] = "bye"  # a hang-up is not a person
    assert codes(validate_flow(flow, queue_codes=QUEUES)) == {("bye", "human", "missing_human")}


def test_unknown_queue() -> None:
    flow = {"start": "q", "nodes": {"q": q("NOPE")}}
    assert codes(validate_flow(flow, queue_codes=QUEUES)) == {("q", "queue", "unknown_queue")}
    transfer = {"start": "t", "nodes": {"t": {"type": "transfer", "target": "queue:NOPE"}}}
    assert codes(validate_flow(transfer, queue_codes=QUEUES)) == {("t", "target", "unknown_queue")}
    assert validate_flow(flow, queue_codes=None) == []  # not checked without the list


def test_errors_carry_messages() -> None:
    [error] = validate_flow({"start": "q", "nodes": {"q": q("NOPE")}}, queue_codes=QUEUES)
    assert error.message and error.as_dict() == {
        "node": "q",
        "field": "queue",
        "code": "unknown_queue",
        "message": error.message,
    }
