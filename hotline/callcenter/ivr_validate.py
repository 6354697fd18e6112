"""Checking an IVR flow (IVR 流程校验) before it is saved.

``validate_flow(definition, queue_codes=…)`` returns every problem it finds as a ``FlowError``
(``node``, ``field``, ``code``, ``message``); an empty list means the engine can run the flow.
The codes are stable (clients branch on them); the format and the codes are described in
docs/callcenter.md.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator
from dataclasses import asdict, dataclass
from typing import Any

from django.utils.translation import gettext as _

MISSING_START = "missing_start"
UNKNOWN_NODE = "unknown_node"
UNREACHABLE = "unreachable"
NO_EXIT = "no_exit"
BAD_TYPE = "bad_type"
MISSING_FIELD = "missing_field"
BAD_VALUE = "bad_value"
BAD_DIGIT = "bad_digit"
RESERVED_DIGIT = "reserved_digit"
MISSING_HUMAN = "missing_human"
UNKNOWN_QUEUE = "unknown_queue"
UNKNOWN_FLOW = "unknown_flow"

NODE_TYPES = (
    "play",
    "menu",
    "collect",
    "time",
    "order_status",
    "voicemail",
    "queue",
    "transfer",
    "survey",
    "hangup",
)
TERMINAL_TYPES = frozenset({"queue", "transfer", "voicemail", "hangup"})
HUMAN_TYPES = frozenset({"queue", "transfer"})
OPTION_DIGITS = frozenset("123456789*#")
HUMAN_DIGIT = "0"
# The fields of each node type that name another node, and whether each is required.
REFERENCES: dict[str, tuple[tuple[str, bool], ...]] = {
    "play": (("next", True),),
    "menu": (("on_fail", True),),
    "collect": (("next", True), ("on_fail", True)),
    "time": (("day", True), ("night", True), ("holiday", True)),
    "order_status": (("next", True), ("on_fail", True)),
    "voicemail": (("next", False),),
    "queue": (),
    "transfer": (),
    "survey": (("next", True),),
    "hangup": (),
}
# Node types that must play something first.
NEEDS_PROMPTS = frozenset({"play", "menu", "collect", "order_status", "voicemail", "survey"})
TEL_TARGET = re.compile(r"^tel:\+?[0-9*#]{1,32}$")
VAR_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,31}$")
MAX_DIGITS = 32
MAX_VOICEMAIL_S = 600


@dataclass(frozen=True, slots=True)
class FlowError:
    node: str | None
    field: str | None
    code: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class _Checker:
    def __init__(
        self, definition: Any, queue_codes: Collection[str] | None, flow_codes: Collection[str] | None
    ):
        self.definition = definition
        self.queue_codes = queue_codes
        self.flow_codes = flow_codes
        self.errors: list[FlowError] = []
        self.edges: dict[str, list[str]] = {}

    def add(self, node: str | None, field: str | None, code: str, message: str) -> None:
        self.errors.append(FlowError(node=node, field=field, code=code, message=message))

    # --- Shapes ------------------------------------------------------------------------------------

    def run(self) -> list[FlowError]:
        flow = self.definition
        if not isinstance(flow, dict):
            self.add(None, None, BAD_TYPE, _("A flow is an object with “start” and “nodes”."))
            return self.errors
        nodes = flow.get("nodes")
        if nodes is None:
            self.add(None, "nodes", MISSING_FIELD, _("The flow has no nodes."))
            nodes = {}
        elif not isinstance(nodes, dict):
            self.add(None, "nodes", BAD_TYPE, _("“nodes” must be an object of nodes by name."))
            nodes = {}
        self.nodes: dict[str, dict[str, Any]] = {}
        for node_id, node in nodes.items():
            if not isinstance(node, dict):
                self.add(node_id, None, BAD_TYPE, _("A node is an object with a “type”."))
                continue
            self.nodes[node_id] = node
        start = flow.get("start")
        if not start:
            self.add(None, "start", MISSING_START, _("The flow does not say where it starts."))
            start = None
        elif not isinstance(start, str) or start not in nodes:
            self.add(None, "start", UNKNOWN_NODE, _("The start node does not exist."))
            start = None
        has_menu = False
        for node_id, node in self.nodes.items():
            kind = node.get("type")
            if kind is None:
                self.add(node_id, "type", MISSING_FIELD, _("The node has no type."))
                continue
            if kind not in NODE_TYPES:
                self.add(node_id, "type", BAD_TYPE, _("Unknown node type."))
                continue
            has_menu = has_menu or kind == "menu"
            self.edges[node_id] = []
            self.check_node(node_id, kind, node)
        human = self.check_human(flow, has_menu)
        self.check_graph(start, human)
        return self.errors

    def check_human(self, flow: dict[str, Any], has_menu: bool) -> str | None:
        human = flow.get("human")
        if human is None or human == "":
            if has_menu:
                self.add(
                    None, "human", MISSING_HUMAN, _("A flow with a menu needs a “human” node for the key 0.")
                )
            return None
        if not isinstance(human, str) or human not in self.nodes:
            self.add(None, "human", UNKNOWN_NODE, _("The “human” node does not exist."))
            return None
        if self.nodes[human].get("type") not in HUMAN_TYPES:
            self.add(human, "human", MISSING_HUMAN, _("The “human” node must be a queue or a transfer."))
            return None
        return human

    def ref(self, node_id: str, field: str, value: Any, *, required: bool) -> None:
        if value is None or value == "":
            if required:
                self.add(node_id, field, MISSING_FIELD, _("This field is required."))
            return
        if not isinstance(value, str) or value not in self.nodes:
            self.add(node_id, field, UNKNOWN_NODE, _("No node has this name."))
            return
        self.edges[node_id].append(value)

    def prompts(self, node_id: str, node: dict[str, Any], field: str, *, required: bool) -> None:
        value = node.get(field)
        if value is None:
            if required:
                self.add(node_id, field, MISSING_FIELD, _("This field is required."))
            return
        if not isinstance(value, list) or not all(isinstance(p, str) and p.strip() for p in value):
            self.add(node_id, field, BAD_VALUE, _("Prompts are a list of prompt names."))
        elif required and not value:
            self.add(node_id, field, MISSING_FIELD, _("At least one prompt is needed."))

    def number(
        self, node_id: str, node: dict[str, Any], field: str, *, low: int, high: int, required: bool = False
    ) -> int | None:
        value = node.get(field)
        if value is None:
            if required:
                self.add(node_id, field, MISSING_FIELD, _("This field is required."))
            return None
        if not _int(value) or not low <= value <= high:
            self.add(
                node_id,
                field,
                BAD_VALUE,
                _("A whole number from %(low)d to %(high)d.") % {"low": low, "high": high},
            )
            return None
        return int(value)

    def digit_keys(self, node_id: str, options: dict[str, Any]) -> Iterator[tuple[str, Any]]:
        for digit, target in options.items():
            if digit == HUMAN_DIGIT:
                self.add(
                    node_id,
                    f"options.{digit}",
                    RESERVED_DIGIT,
                    _("The key 0 always goes to a person; it cannot be an option."),
                )
            elif digit not in OPTION_DIGITS:
                self.add(node_id, f"options.{digit}", BAD_DIGIT, _("An option key is one of 1–9, * or #."))
            else:
                yield digit, target

    def options(self, node_id: str, node: dict[str, Any]) -> dict[str, Any] | None:
        options = node.get("options")
        if options is None:
            self.add(node_id, "options", MISSING_FIELD, _("This field is required."))
            return None
        if not isinstance(options, dict) or not options:
            self.add(node_id, "options", BAD_VALUE, _("Options map keys to their targets."))
            return None
        return options

    def queue_code(self, node_id: str, field: str, code: str) -> None:
        if self.queue_codes is not None and code not in self.queue_codes:
            self.add(node_id, field, UNKNOWN_QUEUE, _("No queue has the code %(code)s.") % {"code": code})

    # --- Node types --------------------------------------------------------------------------------

    def check_node(self, node_id: str, kind: str, node: dict[str, Any]) -> None:
        self.prompts(node_id, node, "prompts", required=kind in NEEDS_PROMPTS)
        for field, required in REFERENCES[kind]:
            self.ref(node_id, field, node.get(field), required=required)
        getattr(self, f"check_{kind}", lambda *args: None)(node_id, node)

    def check_menu(self, node_id: str, node: dict[str, Any]) -> None:
        options = self.options(node_id, node)
        for digit, target in self.digit_keys(node_id, options or {}):
            self.ref(node_id, f"options.{digit}", target, required=True)
        self.number(node_id, node, "timeout_s", low=1, high=120)
        self.number(node_id, node, "retries", low=0, high=10)
        self.prompts(node_id, node, "invalid_prompts", required=False)

    def check_collect(self, node_id: str, node: dict[str, Any]) -> None:
        var = node.get("var")
        if var is None or var == "":
            self.add(node_id, "var", MISSING_FIELD, _("This field is required."))
        elif not isinstance(var, str) or not VAR_NAME.match(var):
            self.add(node_id, "var", BAD_VALUE, _("A variable name: letters, digits and _."))
        low = self.number(node_id, node, "min_digits", low=1, high=MAX_DIGITS)
        high = self.number(node_id, node, "max_digits", low=1, high=MAX_DIGITS)
        if low is not None and high is not None and low > high:
            self.add(node_id, "max_digits", BAD_VALUE, _("The maximum is below the minimum."))
        terminator = node.get("terminator")
        if terminator is not None and terminator not in ("#", "*", ""):
            self.add(node_id, "terminator", BAD_VALUE, _("The terminator is #, * or nothing."))
        self.number(node_id, node, "timeout_s", low=1, high=120)

    def check_order_status(self, node_id: str, node: dict[str, Any]) -> None:
        self.number(node_id, node, "retries", low=0, high=10)

    def check_voicemail(self, node_id: str, node: dict[str, Any]) -> None:
        self.number(node_id, node, "max_seconds", low=1, high=MAX_VOICEMAIL_S)

    def check_queue(self, node_id: str, node: dict[str, Any]) -> None:
        code = node.get("queue")
        if code is None or code == "":
            self.add(node_id, "queue", MISSING_FIELD, _("This field is required."))
        elif not isinstance(code, str):
            self.add(node_id, "queue", BAD_VALUE, _("A queue code."))
        else:
            self.queue_code(node_id, "queue", code)

    def check_transfer(self, node_id: str, node: dict[str, Any]) -> None:
        target = node.get("target")
        if target is None or target == "":
            self.add(node_id, "target", MISSING_FIELD, _("This field is required."))
            return
        if not isinstance(target, str):
            self.add(node_id, "target", BAD_VALUE, _("tel:<number>, queue:<code> or flow:<code>."))
        elif target.startswith("queue:") and len(target) > 6:
            self.queue_code(node_id, "target", target[6:])
        elif target.startswith("flow:") and len(target) > 5:
            if self.flow_codes is not None and target[5:] not in self.flow_codes:
                self.add(
                    node_id,
                    "target",
                    UNKNOWN_FLOW,
                    _("No flow has the code %(code)s.") % {"code": target[5:]},
                )
        elif not TEL_TARGET.match(target):
            self.add(node_id, "target", BAD_VALUE, _("tel:<number>, queue:<code> or flow:<code>."))

    def check_survey(self, node_id: str, node: dict[str, Any]) -> None:
        question = node.get("question")
        if question is None or question == "":
            self.add(node_id, "question", MISSING_FIELD, _("This field is required."))
        elif not isinstance(question, str):
            self.add(node_id, "question", BAD_VALUE, _("The question's name."))
        options = self.options(node_id, node)
        for digit, answer in self.digit_keys(node_id, options or {}):
            if not isinstance(answer, str) or not answer.strip():
                self.add(node_id, f"options.{digit}", BAD_VALUE, _("An answer's name."))

    # --- Graph -------------------------------------------------------------------------------------

    def check_graph(self, start: str | None, human: str | None) -> None:
        typed = {node_id: node["type"] for node_id, node in self.nodes.items() if node_id in self.edges}
        edges = {node_id: list(targets) for node_id, targets in self.edges.items()}
        if human is not None:  # the key 0 of every menu
            for node_id, kind in typed.items():
                if kind == "menu":
                    edges[node_id].append(human)
        if start is not None:
            seen = {start}
            todo = [start]
            while todo:
                for target in edges.get(todo.pop(), ()):
                    if target not in seen:
                        seen.add(target)
                        todo.append(target)
            for node_id in self.nodes:
                if node_id not in seen:
                    self.add(node_id, None, UNREACHABLE, _("No path from the start leads to this node."))
        # Nodes from which a terminal node can be reached (a menu's key 0 reaches the human node).
        exits = {node_id for node_id, kind in typed.items() if kind in TERMINAL_TYPES}
        changed = True
        while changed:
            changed = False
            for node_id, targets in edges.items():
                if node_id not in exits and any(t in exits for t in targets):
                    exits.add(node_id)
                    changed = True
        for node_id in typed:
            if node_id not in exits:
                self.add(
                    node_id,
                    None,
                    NO_EXIT,
                    _("A caller here can never leave: no path to a queue, transfer, voicemail or hang-up."),
                )


def validate_flow(
    definition: Any, *, queue_codes: Collection[str] | None, flow_codes: Collection[str] | None = None
) -> list[FlowError]:
    """Every problem of ``definition``; ``[]`` if the engine can run it.

    ``queue_codes``: the queues that exist (``None``: do not check); ``flow_codes`` likewise for
    ``transfer`` targets ``flow:<code>``."""
    return _Checker(definition, queue_codes, flow_codes).run()
