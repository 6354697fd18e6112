"""The engine's configuration from the database: ``centre_config()`` → ``engine.config.CentreConfig``.

Active queues, the agents who are members of an active queue (their skills by queue code), the
active flows and hotline numbers, and the centre-wide settings. The switch process calls this at
start and whenever it is told the configuration changed.
"""

from __future__ import annotations

from collections import defaultdict

from .engine.config import AgentConfig, CentreConfig, QueueConfig
from .models import AgentProfile, EmergencyNumber, HotlineNumber, IvrFlow, Queue, QueueMembership
from .selectors import centre_settings


def queue_config(queue: Queue) -> QueueConfig:
    return QueueConfig(
        code=queue.code,
        name=queue.name,
        strategy=queue.strategy,
        ring_timeout_s=queue.ring_timeout_s,
        wrap_up_s=queue.wrap_up_s,
        max_wait_s=queue.max_wait_s,
        max_wait_action=queue.max_wait_action,
        overflow_queue=queue.overflow_queue.code if queue.overflow_queue is not None else "",
        overflow_after_s=queue.overflow_after_s,
        tiers=tuple((int(after), int(level)) for after, level in (queue.tiers or [])),
        announce_every_s=queue.announce_every_s,
        service_level_s=queue.service_level_s,
        record_calls=queue.record_calls,
        music=queue.music,
        region_code=queue.region.code if queue.region is not None else "",
        vip_priority=queue.vip_priority,
        repeat_priority=queue.repeat_priority,
        repeat_window_hours=queue.repeat_window_hours,
    )


def agent_configs() -> tuple[AgentConfig, ...]:
    """Every active user who is a member of an active queue, with their skill levels."""
    skills: dict[int, dict[str, int]] = defaultdict(dict)
    names: dict[int, str] = {}
    memberships = QueueMembership.objects.filter(queue__active=True, agent__is_active=True).select_related(
        "queue", "agent"
    )
    for membership in memberships:
        skills[membership.agent_id][membership.queue.code] = membership.level
        names[membership.agent_id] = membership.agent.display_name
    profiles = {
        p.user_id: p
        for p in AgentProfile.objects.filter(user_id__in=list(skills)).select_related("default_seat")
    }
    agents = []
    for agent_id in sorted(skills):
        profile = profiles.get(agent_id)
        agents.append(
            AgentConfig(
                agent_id=agent_id,
                name=(profile.display_name if profile and profile.display_name else names[agent_id]),
                extension=profile.default_seat.extension if profile and profile.default_seat else "",
                skills=dict(skills[agent_id]),
            )
        )
    return tuple(agents)


def centre_config() -> CentreConfig:
    settings = centre_settings()
    queues = tuple(
        queue_config(q)
        for q in Queue.objects.filter(active=True).select_related("overflow_queue", "region").order_by("code")
    )
    flows = {f.code: f.definition for f in IvrFlow.objects.filter(active=True).order_by("code")}
    hotlines = {
        h.number: h.flow.code
        for h in HotlineNumber.objects.filter(active=True, flow__active=True)
        .select_related("flow")
        .order_by("number")
    }
    emergency = tuple(EmergencyNumber.objects.filter(active=True).values_list("number", flat=True))
    return CentreConfig(
        queues=queues,
        agents=agent_configs(),
        flows=flows,
        hotlines=hotlines,
        default_flow=next(iter(hotlines.values()), ""),
        lock_after_no_answers=settings.lock_after_no_answers,
        short_abandon_s=settings.short_abandon_s,
        emergency_numbers=emergency,
    )
