"""The IVR flow interpreter (语音导航): runs a flow (docs/callcenter flow format) on a call.

Each node type is a small class with what happens when the call enters the node, when a digit
arrives, when its prompt ends and when the caller is silent too long. The engine gives the
interpreter media, timers, queues and transfers (``IvrHost``); the interpreter never touches the
switch itself.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Protocol

from hotline.callcenter.records import Directory
from hotline.telephony.boundary import TimerHandle

from .calls import PHASE_IVR, Call, IvrState

Node = Mapping[str, Any]


class IvrHost(Protocol):
    """What the interpreter needs from the engine."""

    directory: Directory
    flows: Mapping[str, Mapping[str, Any]]

    def play(self, call: Call, prompts: tuple[str, ...], *, interrupt: bool) -> str: ...

    def timer(self, delay_s: float, callback: Callable[[], None]) -> TimerHandle: ...

    def ivr_queue(self, call: Call, queue: str, *, general: bool) -> None: ...

    def ivr_transfer(self, call: Call, target: str) -> None: ...

    def ivr_voicemail(
        self, call: Call, prompts: tuple[str, ...], max_seconds: int, next_node: str
    ) -> None: ...

    def ivr_hangup(self, call: Call, prompts: tuple[str, ...]) -> None: ...

    def ivr_data_changed(self, call: Call) -> None: ...


def general_queue(flow: Mapping[str, Any]) -> str:
    """The flow's general queue (region routing replaces it): its ``human`` node's queue, or the
    queue of a flow that goes straight to a queue."""
    nodes = flow.get("nodes", {})
    for node_id in (flow.get("human"), flow.get("start")):
        node = nodes.get(node_id) if node_id else None
        if node and node.get("type") == "queue":
            return str(node.get("queue", ""))
    return ""


def _prompts(node: Node, key: str = "prompts") -> tuple[str, ...]:
    return tuple(node.get(key) or ())


class NodeKind:
    """A node type's behaviour; ``Interpreter`` calls these with the call and its node."""

    listens: ClassVar[bool] = False  # prompts may be interrupted by digits

    def enter(self, ivr: Interpreter, call: Call, node: Node) -> None:
        ivr.go(call, node.get("next", ""))

    def digit(self, ivr: Interpreter, call: Call, node: Node, digit: str) -> None:
        """A digit while the node runs; ignored unless the node listens."""

    def media_done(self, ivr: Interpreter, call: Call, node: Node) -> None:
        state = call.ivr
        assert state is not None
        if state.pending:
            target, state.pending = state.pending, ""
            ivr.go(call, target)

    def timeout(self, ivr: Interpreter, call: Call, node: Node) -> None:
        """The caller said nothing for ``timeout_s`` after the prompt."""


class PlayNode(NodeKind):
    def enter(self, ivr: Interpreter, call: Call, node: Node) -> None:
        ivr.say_then(call, _prompts(node), node.get("next", ""))


class TimeNode(NodeKind):
    def enter(self, ivr: Interpreter, call: Call, node: Node) -> None:
        period = ivr.host.directory.calendar_period(ivr.now_dt())
        ivr.go(call, node.get(period) or node.get("day", ""))


class MenuNode(NodeKind):
    listens = True

    def enter(self, ivr: Interpreter, call: Call, node: Node) -> None:
        ivr.ask(call, _prompts(node))

    def digit(self, ivr: Interpreter, call: Call, node: Node, digit: str) -> None:
        if digit == "0" and ivr.flow(call).get("human"):
            ivr.to_human(call)
            return
        target = node.get("options", {}).get(digit)
        if target:
            ivr.go(call, target)
        else:
            ivr.retry(call, node, _prompts(node, "invalid_prompts"))

    def media_done(self, ivr: Interpreter, call: Call, node: Node) -> None:
        ivr.wait_input(call, float(node.get("timeout_s", 5)))

    def timeout(self, ivr: Interpreter, call: Call, node: Node) -> None:
        ivr.retry(call, node, ())


class CollectNode(NodeKind):
    """Digits up to a terminator or ``max_digits``; stored in ``data[var]``."""

    listens = True
    default_max = 32

    def enter(self, ivr: Interpreter, call: Call, node: Node) -> None:
        ivr.ask(call, _prompts(node))

    def digit(self, ivr: Interpreter, call: Call, node: Node, digit: str) -> None:
        state = call.ivr
        assert state is not None
        if digit == node.get("terminator", "#"):
            self.finish(ivr, call, node)
            return
        state.digits += digit
        if len(state.digits) >= int(node.get("max_digits", self.default_max)):
            self.finish(ivr, call, node)
        else:
            ivr.wait_input(call, float(node.get("timeout_s", 8)))

    def media_done(self, ivr: Interpreter, call: Call, node: Node) -> None:
        state = call.ivr
        assert state is not None
        if state.pending:
            super().media_done(ivr, call, node)
        else:
            ivr.wait_input(call, float(node.get("timeout_s", 8)))

    def timeout(self, ivr: Interpreter, call: Call, node: Node) -> None:
        self.finish(ivr, call, node)

    def finish(self, ivr: Interpreter, call: Call, node: Node) -> None:
        state = call.ivr
        assert state is not None
        digits = state.digits
        if len(digits) < int(node.get("min_digits", 1)):
            ivr.retry(call, node, ())
            return
        call.data[str(node.get("var", state.node_id))] = digits
        ivr.host.ivr_data_changed(call)
        ivr.go(call, node.get("next", ""))


class OrderStatusNode(CollectNode):
    """The caller keys a tracking number ended by ``#``; the state of that order is read out."""

    def finish(self, ivr: Interpreter, call: Call, node: Node) -> None:
        state = call.ivr
        assert state is not None
        digits = state.digits
        status = ivr.host.directory.order_status(digits) if digits else None
        call.data.setdefault("order_lookups", []).append({"number": digits, "status": status or ""})
        ivr.host.ivr_data_changed(call)
        if status:
            ivr.say_then(call, (status,), node.get("next", ""))
            return
        state.retries += 1
        state.digits = ""
        if state.retries > int(node.get("retries", 2)):
            ivr.say_then(call, ("status_unknown",), node.get("on_fail", "") or node.get("next", ""))
        else:
            ivr.ask(call, ("status_unknown", *_prompts(node)))


class SurveyNode(NodeKind):
    listens = True

    def enter(self, ivr: Interpreter, call: Call, node: Node) -> None:
        ivr.ask(call, _prompts(node))

    def digit(self, ivr: Interpreter, call: Call, node: Node, digit: str) -> None:
        answer = node.get("options", {}).get(digit)
        if answer is None:
            return
        call.data.setdefault("survey", {})[str(node.get("question", "survey"))] = answer
        ivr.host.ivr_data_changed(call)
        ivr.go(call, node.get("next", ""))

    def media_done(self, ivr: Interpreter, call: Call, node: Node) -> None:
        ivr.wait_input(call, float(node.get("timeout_s", 5)))

    def timeout(self, ivr: Interpreter, call: Call, node: Node) -> None:
        ivr.go(call, node.get("next", ""))


class QueueNode(NodeKind):
    def enter(self, ivr: Interpreter, call: Call, node: Node) -> None:
        queue = str(node.get("queue", ""))
        ivr.host.ivr_queue(call, queue, general=queue == general_queue(ivr.flow(call)))


class TransferNode(NodeKind):
    def enter(self, ivr: Interpreter, call: Call, node: Node) -> None:
        ivr.host.ivr_transfer(call, str(node.get("target", "")))


class VoicemailNode(NodeKind):
    def enter(self, ivr: Interpreter, call: Call, node: Node) -> None:
        ivr.host.ivr_voicemail(call, _prompts(node), int(node.get("max_seconds", 120)), node.get("next", ""))


class HangupNode(NodeKind):
    def enter(self, ivr: Interpreter, call: Call, node: Node) -> None:
        ivr.host.ivr_hangup(call, _prompts(node))


KINDS: dict[str, NodeKind] = {
    "play": PlayNode(),
    "time": TimeNode(),
    "menu": MenuNode(),
    "collect": CollectNode(),
    "order_status": OrderStatusNode(),
    "survey": SurveyNode(),
    "queue": QueueNode(),
    "transfer": TransferNode(),
    "voicemail": VoicemailNode(),
    "hangup": HangupNode(),
}


def kind_of(node: Node) -> NodeKind:
    """The behaviour of a node; an unknown type (a flow saved before a type was removed) ends
    the call politely rather than failing."""
    return KINDS.get(str(node.get("type", "")), _UNKNOWN)


_UNKNOWN = HangupNode()


class Interpreter:
    def __init__(self, host: IvrHost, now_dt: Callable[[], Any]) -> None:
        self.host = host
        self.now_dt = now_dt

    def flow(self, call: Call) -> Mapping[str, Any]:
        assert call.ivr is not None
        return self.host.flows.get(call.ivr.flow_code, {})

    def start(self, call: Call, flow_code: str, node_id: str = "") -> None:
        resume = call.ivr.resume_menu if call.ivr is not None else ""
        call.ivr = IvrState(flow_code=flow_code, resume_menu=resume)
        flow = self.flow(call)
        self.go(call, node_id or flow.get("start", ""))

    def resume(self, call: Call) -> None:
        """Back to the menu the caller left with ``0`` (or the flow's start)."""
        state = call.ivr
        if state is None:
            return
        self.go(call, state.resume_menu or self.flow(call).get("start", ""))

    def go(self, call: Call, node_id: str) -> None:
        state = call.ivr
        assert state is not None
        self._cancel_timer(state)
        call.phase = PHASE_IVR
        node = self.flow(call).get("nodes", {}).get(node_id) if node_id else None
        if node is None:
            self.host.ivr_hangup(call, ())
            return
        state.node_id = node_id
        state.retries = 0
        state.digits = ""
        state.pending = ""
        state.waiting_input = False
        state.media_id = ""
        call.ivr_path.append(node_id)
        kind_of(node).enter(self, call, node)

    def to_human(self, call: Call) -> None:
        state = call.ivr
        assert state is not None
        state.resume_menu = state.node_id
        call.data["pressed_zero_at"] = state.node_id
        self.go(call, self.flow(call).get("human", ""))

    # --- used by node kinds --------------------------------------------------------------------

    def _node(self, call: Call) -> Node:
        state = call.ivr
        assert state is not None
        return self.flow(call).get("nodes", {}).get(state.node_id, {})

    def say_then(self, call: Call, prompts: tuple[str, ...], next_node: str) -> None:
        state = call.ivr
        assert state is not None
        if not prompts:
            self.go(call, next_node)
            return
        state.pending = next_node
        state.media_id = self.host.play(call, prompts, interrupt=False)

    def ask(self, call: Call, prompts: tuple[str, ...]) -> None:
        state = call.ivr
        assert state is not None
        self._cancel_timer(state)
        state.digits = ""
        state.pending = ""
        state.waiting_input = True
        if prompts:
            state.media_id = self.host.play(call, prompts, interrupt=True)
        else:
            kind_of(self._node(call)).media_done(self, call, self._node(call))

    def wait_input(self, call: Call, timeout_s: float) -> None:
        state = call.ivr
        assert state is not None
        self._cancel_timer(state)
        node_id = state.node_id
        state.timer = self.host.timer(timeout_s, lambda: self._timeout(call, node_id))

    def retry(self, call: Call, node: Node, extra: tuple[str, ...]) -> None:
        state = call.ivr
        assert state is not None
        state.retries += 1
        if state.retries > int(node.get("retries", 2)):
            target = node.get("on_fail", "")
            if not target:
                self.host.ivr_hangup(call, ())
            else:
                self.go(call, target)
            return
        self.ask(call, (*extra, *_prompts(node)))

    # --- events from the engine ----------------------------------------------------------------

    def on_digit(self, call: Call, digit: str) -> None:
        state = call.ivr
        if state is None or not state.waiting_input:
            return
        node = self._node(call)
        kind = kind_of(node)
        if kind.listens:
            self._cancel_timer(state)
            kind.digit(self, call, node, digit)

    def on_media(self, call: Call, media_id: str, reason: str) -> None:
        state = call.ivr
        if state is None or media_id != state.media_id:
            return
        state.media_id = ""
        if reason == "stopped" and state.waiting_input:
            return  # a digit interrupted the prompt; the digit drives what follows
        node = self._node(call)
        kind_of(node).media_done(self, call, node)

    def _timeout(self, call: Call, node_id: str) -> None:
        state = call.ivr
        if state is None or call.phase != PHASE_IVR or state.node_id != node_id:
            return
        state.timer = None
        node = self._node(call)
        kind_of(node).timeout(self, call, node)

    def stop(self, call: Call) -> None:
        if call.ivr is not None:
            self._cancel_timer(call.ivr)
            call.ivr.media_id = ""
            call.ivr.waiting_input = False

    @staticmethod
    def _cancel_timer(state: IvrState) -> None:
        if state.timer is not None:
            state.timer.cancel()
            state.timer = None
