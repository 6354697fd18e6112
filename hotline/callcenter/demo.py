"""Demo contact-centre data: hotline numbers and flows, queues, seats, agents' skills, pause
reasons, emergency numbers and a few list entries. Loaded by ``hotline.core.demo.load_demo``
after the demo city and its people; a second run changes nothing."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from . import services
from .choices import ListKind, MaxWaitAction, Strategy
from .models import (
    AgentProfile,
    EmergencyNumber,
    HotlineNumber,
    IvrFlow,
    ListEntry,
    PauseReason,
    Queue,
    QueueMembership,
    Seat,
)

NOTE = "demo data"

MAIN_FLOW: dict[str, Any] = {
    "start": "welcome",
    "human": "q_general",
    "nodes": {
        "welcome": {"type": "play", "prompts": ["welcome"], "next": "hours"},
        "hours": {"type": "time", "day": "menu", "night": "night_msg", "holiday": "night_msg"},
        "menu": {
            "type": "menu",
            "prompts": ["main_menu"],
            "options": {"1": "q_general", "2": "status", "3": "q_enterprise", "9": "vm"},
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
        "vm": {"type": "voicemail", "prompts": ["leave_message"], "max_seconds": 120, "next": "bye"},
        "q_general": {"type": "queue", "queue": "GENERAL"},
        "q_enterprise": {"type": "queue", "queue": "ENTERPRISE"},
        # 12345 answers around the clock: at night and on holidays a notice, then the same menu.
        "night_msg": {"type": "play", "prompts": ["night_service"], "next": "menu"},
        "bye": {"type": "hangup", "prompts": ["goodbye"]},
    },
}
# GB/T 33358 recommends no menu before a person for phone intake.
DIRECT_FLOW: dict[str, Any] = {"start": "q", "nodes": {"q": {"type": "queue", "queue": "GENERAL"}}}

FLOWS = [("MAIN", "12345 主流程", MAIN_FLOW), ("DIRECT", "直通人工", DIRECT_FLOW)]
NUMBERS = [("12345", "12345 政务服务便民热线", "MAIN"), ("099912345", "12345 直通人工（本地固话）", "DIRECT")]

# code, name, strategy, extra fields
QUEUES: list[tuple[str, str, str, dict[str, Any]]] = [
    (
        "GENERAL",
        "综合受理",
        Strategy.LONGEST_IDLE,
        {"tiers": [[0, 4], [30, 2], [60, 1]], "max_wait_s": 300, "max_wait_action": MaxWaitAction.VOICEMAIL},
    ),
    (
        "ENTERPRISE",
        "企业服务",
        Strategy.LONGEST_IDLE,
        {"max_wait_s": 180, "max_wait_action": MaxWaitAction.CALLBACK},
    ),
    ("COMPLAINT", "投诉举报", Strategy.FEWEST_CALLS, {"tiers": [[0, 3], [45, 1]]}),
]

PAUSE_REASONS = [
    ("rest", "休息", 15),
    ("meal", "就餐", 45),
    ("training", "培训", None),
    ("meeting", "会议", None),
    ("notes", "小结", 10),
]
EMERGENCY = [("110", "公安报警"), ("119", "消防救援"), ("120", "医疗急救"), ("122", "交通事故")]
SEATS = [
    ("8001", "A区01座", "三楼受理大厅A区"),
    ("8002", "A区02座", "三楼受理大厅A区"),
    ("8101", "班长席", "三楼受理大厅"),
]
# username → seat, and skill level by queue code ("*": every region queue)
AGENTS = {
    "agent_li": ("8001", {"GENERAL": 4, "ENTERPRISE": 3, "COMPLAINT": 2, "*": 3}),
    "agent_zhang": ("8002", {"GENERAL": 4, "COMPLAINT": 4, "*": 2}),
    "supervisor_chen": ("8101", {"GENERAL": 5, "COMPLAINT": 5, "ENTERPRISE": 5}),
}
LIST_ENTRIES = [
    (ListKind.BLACK, "13900009999", "多次骚扰辱骂话务员", "refuse"),
    (ListKind.VIP, "13700001111", "市人大代表", ""),
    (ListKind.WHITE, "13600002222", "社区网格员", ""),
]


def _queue(code: str, name: str, strategy: str, extra: dict[str, Any], region: Any = None) -> int:
    if Queue.objects.filter(code=code).exists():
        return 0
    services.queue_save(
        actor=None, queue=Queue(code=code, name=name, strategy=strategy, region=region, **extra), note=NOTE
    )
    return 1


@transaction.atomic
def seed_callcenter() -> int:
    """Create what is missing; returns how many rows were created."""
    from hotline.accounts.models import User
    from hotline.orgs.models import Region

    created = 0
    for code, name, strategy, extra in QUEUES:
        created += _queue(code, name, strategy, extra)
    districts = Region.objects.filter(level="district").order_by("code")
    for district in districts:
        created += _queue(f"R-{district.code}", f"{district.name}专席", Strategy.LONGEST_IDLE, {}, district)
    for code, name, definition in FLOWS:
        if not IvrFlow.objects.filter(code=code).exists():
            services.flow_save(actor=None, code=code, name=name, definition=definition, note=NOTE)
            created += 1
    for number, name, flow_code in NUMBERS:
        if not HotlineNumber.objects.filter(number=number).exists():
            flow = IvrFlow.objects.get(code=flow_code)
            services.hotline_number_save(actor=None, number=number, name=name, flow=flow, note=NOTE)
            created += 1
    for sort_order, (code, name, minutes) in enumerate(PAUSE_REASONS):
        if not PauseReason.objects.filter(code=code).exists():
            pause = PauseReason(code=code, name=name, max_minutes=minutes, sort_order=sort_order)
            services.pause_reason_save(actor=None, reason=pause, note=NOTE)
            created += 1
    for sort_order, (number, name) in enumerate(EMERGENCY):
        if not EmergencyNumber.objects.filter(number=number).exists():
            emergency = EmergencyNumber(number=number, name=name, sort_order=sort_order)
            services.emergency_number_save(actor=None, emergency=emergency, note=NOTE)
            created += 1
    for extension, name, location in SEATS:
        if not Seat.objects.filter(extension=extension).exists():
            services.seat_save(
                actor=None, seat=Seat(extension=extension, name=name, location=location), note=NOTE
            )
            created += 1
    region_queues = list(Queue.objects.filter(code__startswith="R-").order_by("code"))
    queues = {q.code: q for q in Queue.objects.all()}
    for username, (extension, skills) in AGENTS.items():
        user = User.objects.filter(username=username).first()
        if user is None:
            continue
        if not AgentProfile.objects.filter(user=user).exists():
            profile = AgentProfile(
                user=user, default_seat=Seat.objects.get(extension=extension), display_name=user.display_name
            )
            services.agent_profile_save(actor=None, profile=profile, note=NOTE)
            created += 1
        levels = {code: level for code, level in skills.items() if code != "*"}
        if "*" in skills:
            levels.update({q.code: skills["*"] for q in region_queues})
        have = set(QueueMembership.objects.filter(agent=user).values_list("queue__code", flat=True))
        for code, level in levels.items():
            if code not in have and code in queues:
                services.membership_set(actor=None, queue=queues[code], agent=user, level=level, note=NOTE)
                created += 1
    for kind, number, reason, action in LIST_ENTRIES:
        if not ListEntry.objects.filter(kind=kind, number=number).exists():
            services.list_entry_add(actor=None, kind=kind, number=number, reason=reason, action=action)
            created += 1
    created += seed_telephony()
    return created


DEMO_PHONE_PASSWORD = "Phone#2026"  # noqa: S105 - published demo password, demo data only


def seed_telephony() -> int:
    """For the SIP switch: every demo seat's phone registers as its extension with the demo
    password, and calls from this machine come in on the trunk ``LOCAL``."""
    from django.conf import settings

    from hotline.telephony.models import PhoneAccount, Trunk

    created = 0
    for seat in Seat.objects.filter(phone__isnull=True):
        account = PhoneAccount(seat=seat, realm=settings.HOTLINE_SIP["realm"])
        account.set_password(DEMO_PHONE_PASSWORD)
        account.save()
        created += 1
    if not Trunk.objects.filter(code="LOCAL").exists():
        Trunk.objects.create(
            code="LOCAL", name="本机（演示）", inbound_addresses="127.0.0.1/32\n::1/128", caller_id="12345"
        )
        created += 1
    return created
