"""The one websocket a signed-in page opens (``/ws/live/``).

It joins the user's own group (``user.<id>``) and the groups of their role, so services can push
live events (a call ringing, an order arriving, a wallboard figure) with ``events.publish``. A user
who takes calls also joins ``cc.agents``; a supervisor joins ``cc.wall``; whoever may open the leaders'
dashboard joins ``reports.live``.

Browsers send contact-centre commands on the same socket (``{"type": "cc", "action": …}``): the
consumer checks the sender's permission, names the sender, audits supervisor actions and hands the
command to the switch process (docs/desktop.md).
"""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from .events import relay_ensure_started, switch_send_async

TAKE_CALLS = "callcenter.take_calls"
SUPERVISE = "callcenter.supervise_agents"
VIEW_DASHBOARD = "reports.view_dashboard"
DASHBOARD_GROUP = "reports.live"  # hotline.reports.live: "work orders changed" for the dashboards

AGENT_ACTIONS = frozenset(
    {
        "state",
        "login",
        "ready",
        "pause",
        "logout",
        "answer",
        "hangup",
        "hold",
        "unhold",
        "mute",
        "transfer",
        "consult",
        "consult_complete",
        "consult_cancel",
        "conference",
        "dial",
        "callback_dial",
        "emergency",
        "draft",
        "link_order",
    }
)
# Acting on another agent's session or call: kept in the audit log.
SUPERVISOR_ACTIONS = frozenset(
    {"monitor", "monitor_end", "force_release", "force_pause", "force_logout", "take"}
)
SUPERVISOR_READS = frozenset({"wall"})
PHONE_ACTIONS = frozenset({"phone_call", "phone_press", "phone_hangup"})
MAX_COMMAND_CHARS = 20_000


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def role_group(role: str) -> str:
    return f"role.{role}"


@database_sync_to_async
def _permissions(user: Any) -> tuple[bool, bool, bool]:
    return user.has_perm(TAKE_CALLS), user.has_perm(SUPERVISE), user.has_perm(VIEW_DASHBOARD)


@database_sync_to_async
def _audit(user: Any, command: dict[str, Any]) -> None:
    from hotline.audit.services import audit_record

    target = command.get("agent_id") or command.get("call_id") or command.get("leg_id") or ""
    audit_record(
        action="update",
        object_type="callcenter.agentsession" if command.get("agent_id") else "callcenter.call",
        object_id=str(target)[:64],
        object_repr=f"{command['action']} {target}".strip(),
        after={k: v for k, v in command.items() if k not in ("type", "by")},
        note=f"supervisor: {command['action']}",
        actor=user,
    )


class LiveConsumer(AsyncJsonWebsocketConsumer):
    groups_joined: list[str]
    may_take_calls: bool = False
    may_supervise: bool = False

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        relay_ensure_started()  # embedded platform: events from other processes reach this one
        self.may_take_calls, self.may_supervise, may_see_dashboard = await _permissions(user)
        self.groups_joined = [user_group(user.pk), role_group(user.role)]
        if self.may_take_calls:
            self.groups_joined.append("cc.agents")
        if self.may_supervise:
            self.groups_joined.append("cc.wall")
        if may_see_dashboard:
            self.groups_joined.append(DASHBOARD_GROUP)
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()
        await self.send_json({"type": "hello", "user": user.username, "role": user.role})

    async def disconnect(self, code: int) -> None:
        for group in getattr(self, "groups_joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def live_event(self, message: dict[str, Any]) -> None:
        await self.send_json(message["event"])

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if not isinstance(content, dict) or content.get("type") != "cc":
            await self._refuse(content, "bad_message", 'expected {"type": "cc", "action": …}')
            return
        action = content.get("action")
        # Unlocking names an agent when a supervisor unlocks someone else.
        names_agent = content.get("agent_id") is not None
        on_behalf = action in SUPERVISOR_ACTIONS or (action == "unlock" and names_agent)
        if action in AGENT_ACTIONS or (action == "unlock" and not on_behalf):
            allowed = self.may_take_calls
        elif on_behalf or action in SUPERVISOR_READS or action in PHONE_ACTIONS:
            allowed = self.may_supervise
        else:
            await self._refuse(content, "unknown_action", f"unknown action {action!r}")
            return
        if not allowed:
            await self._refuse(content, "forbidden", "you may not do this")
            return
        user = self.scope["user"]
        command = {**content, "by": user.pk}
        if on_behalf:
            await _audit(user, command)
        await switch_send_async(command)

    async def _refuse(self, content: Any, code: str, message: str) -> None:
        event: dict[str, Any] = {"type": "cc.error", "code": code, "message": message}
        if isinstance(content, dict):
            event["action"] = str(content.get("action") or "")[:40]
            if content.get("ref") is not None:
                event["ref"] = content.get("ref")
        await self.send_json(event)

    @classmethod
    async def decode_json(cls, text_data: str) -> Any:
        if len(text_data) > MAX_COMMAND_CHARS:
            return None
        try:
            return await super().decode_json(text_data)
        except ValueError:
            return None
