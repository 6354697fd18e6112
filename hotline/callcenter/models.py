"""The contact centre's configuration and what it records (see docs/callcenter.md).

Configuration: hotline numbers and their IVR flows, queues with their members, seats, agents'
profiles, pause reasons, the centre-wide settings, the black/white/VIP lists and the emergency
numbers. Records: the agent state log, the queue event log, call detail records and their legs
(written in batches by ``recorder.DjangoRecorder``), voicemails and callback requests.

Record rows refer to agents by user id without a database constraint: the engine reports ids
as facts, and a log row must never be refused (nor removed) because an account changed.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .choices import (
    AgentState,
    CallbackReason,
    CallbackResult,
    CallbackState,
    Direction,
    LegKind,
    ListKind,
    MaxWaitAction,
    Outcome,
    QueueEventKind,
    Strategy,
    VoicemailState,
)


def _agent_ref(verbose: str = "agent") -> models.ForeignKey:  # type: ignore[type-arg]
    """A reference to a user from a record row: no constraint, never cascades."""
    return models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=verbose,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,  # the record tables' composite indexes start with the agent where it matters
        related_name="+",
    )


# --- Configuration -------------------------------------------------------------------------------


class IvrFlow(models.Model):
    """IVR 流程 — a voice menu as data (the format is in docs/callcenter.md).

    Saved only through ``services.flow_save``, which validates the definition first: an invalid
    flow is never stored. ``version`` goes up by one on every save."""

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    definition = models.JSONField(_("definition"), default=dict)
    active = models.BooleanField(_("active"), default=True)
    version = models.PositiveIntegerField(_("version"), default=0)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("updated by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        verbose_name = _("IVR flow")
        verbose_name_plural = _("IVR flows")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class HotlineNumber(models.Model):
    """热线号码 — a number citizens dial, with the IVR flow its calls start in."""

    number = models.CharField(_("number"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    flow = models.ForeignKey(
        IvrFlow, verbose_name=_("default flow"), on_delete=models.PROTECT, related_name="numbers"
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("hotline number")
        verbose_name_plural = _("hotline numbers")
        ordering = ["number"]

    def __str__(self) -> str:
        return f"{self.number} {self.name}"


class Queue(models.Model):
    """技能队列 — a skill group's queue, with the ACD's rules for it."""

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    strategy = models.CharField(
        _("strategy"), max_length=20, choices=Strategy.choices, default=Strategy.LONGEST_IDLE
    )
    ring_timeout_s = models.PositiveIntegerField(_("ring timeout (s)"), default=15)
    wrap_up_s = models.PositiveIntegerField(_("wrap-up time (s)"), default=30)
    max_wait_s = models.PositiveIntegerField(_("maximum wait (s)"), default=0, help_text=_("0: no limit"))
    max_wait_action = models.CharField(
        _("when the maximum wait is reached"),
        max_length=16,
        choices=MaxWaitAction.choices,
        default=MaxWaitAction.VOICEMAIL,
    )
    overflow_queue = models.ForeignKey(
        "self",
        verbose_name=_("overflow queue"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    overflow_after_s = models.PositiveIntegerField(
        _("overflow after (s)"), default=0, help_text=_("0: never")
    )
    tiers = models.JSONField(
        _("skill tiers"),
        default=list,
        blank=True,
        help_text=_("[[after_wait_s, min_level], …], e.g. [[0, 4], [30, 2], [60, 1]]"),
    )
    announce_every_s = models.PositiveIntegerField(
        _("announce position every (s)"), default=60, help_text=_("0: off")
    )
    service_level_s = models.PositiveIntegerField(_("service level (s)"), default=15)
    record_calls = models.BooleanField(_("record calls"), default=True)
    music = models.CharField(_("music on hold"), max_length=64, default="moh")
    region = models.ForeignKey(
        "orgs.Region",
        verbose_name=_("region"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("Callers from this district are routed here instead of the flow's general queue."),
    )
    vip_priority = models.PositiveIntegerField(_("VIP priority"), default=10)
    repeat_priority = models.PositiveIntegerField(_("repeat caller priority"), default=5)
    repeat_window_hours = models.PositiveIntegerField(_("repeat window (hours)"), default=24)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("queue")
        verbose_name_plural = _("queues")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Seat(models.Model):
    """座席位 — a desk with its phone extension."""

    extension = models.CharField(_("extension"), max_length=16, unique=True)
    name = models.CharField(_("name"), max_length=64, blank=True)
    location = models.CharField(_("location"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("seat")
        verbose_name_plural = _("seats")
        ordering = ["extension"]

    def __str__(self) -> str:
        return self.extension + (f" {self.name}" if self.name else "")


class AgentProfile(models.Model):
    """话务员档案 — a user who takes calls: the seat they usually sit at and the name callers'
    records show."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="agent_profile",
    )
    default_seat = models.ForeignKey(
        Seat, verbose_name=_("default seat"), null=True, blank=True, on_delete=models.SET_NULL
    )
    display_name = models.CharField(_("display name"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("agent profile")
        verbose_name_plural = _("agent profiles")
        permissions = [
            ("take_calls", "Can log in to the phone and take calls"),
            ("supervise_agents", "Can supervise agents: wall, listen, whisper, barge, force states"),
        ]

    def __str__(self) -> str:
        return self.display_name or str(self.user)


class QueueMembership(models.Model):
    """技能组成员 — an agent in a queue, with their skill level (1–5, 5 = most skilled)."""

    queue = models.ForeignKey(
        Queue, verbose_name=_("queue"), on_delete=models.CASCADE, related_name="members"
    )
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("agent"),
        on_delete=models.CASCADE,
        related_name="queue_memberships",
    )
    level = models.PositiveSmallIntegerField(
        _("skill level"), default=3, validators=[MinValueValidator(1), MaxValueValidator(5)]
    )

    class Meta:
        verbose_name = _("queue membership")
        verbose_name_plural = _("queue memberships")
        ordering = ["queue__code", "-level"]
        constraints = [
            models.UniqueConstraint(fields=["queue", "agent"], name="queue_membership_unique"),
            models.CheckConstraint(condition=Q(level__gte=1, level__lte=5), name="queue_membership_level"),
        ]

    def __str__(self) -> str:
        return f"{self.queue.code}: {self.agent} ({self.level})"


class PauseReason(models.Model):
    """示忙原因 — why an agent pauses (休息, 就餐, 培训 …), optionally with a time limit."""

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=64)
    max_minutes = models.PositiveIntegerField(_("maximum minutes"), null=True, blank=True)
    active = models.BooleanField(_("active"), default=True)
    sort_order = models.PositiveIntegerField(_("sort order"), default=0)

    class Meta:
        verbose_name = _("pause reason")
        verbose_name_plural = _("pause reasons")
        ordering = ["sort_order", "code"]

    def __str__(self) -> str:
        return self.name


class CentreSettings(models.Model):
    """中心参数 — centre-wide settings: one row (``pk=1``), created with the defaults when first
    read (``selectors.centre_settings``)."""

    lock_after_no_answers = models.PositiveIntegerField(
        _("lock an agent after unanswered offers in a row"), default=3
    )
    short_abandon_s = models.PositiveIntegerField(_("short abandon (s)"), default=5)
    service_level_s = models.PositiveIntegerField(_("default service level (s)"), default=15)
    repeat_window_hours = models.PositiveIntegerField(_("repeat caller window (hours)"), default=24)

    class Meta:
        verbose_name = _("centre settings")
        verbose_name_plural = _("centre settings")

    def __str__(self) -> str:
        return str(_("Centre settings"))


class ListEntry(models.Model):
    """黑名单/白名单/VIP — a number on one of the centre's lists.

    A blacklisted caller is refused (``refuse``) or sent to another flow (``flow:<code>``)."""

    kind = models.CharField(_("list"), max_length=8, choices=ListKind.choices)
    number = models.CharField(_("number"), max_length=32)
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    action = models.CharField(_("action"), max_length=40, blank=True, help_text=_("refuse or flow:<code>"))
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("list entry")
        verbose_name_plural = _("list entries")
        ordering = ["kind", "number"]
        constraints = [models.UniqueConstraint(fields=["kind", "number"], name="list_entry_unique")]
        indexes = [models.Index(fields=["number"], name="list_entry_number_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.number}"


class EmergencyNumber(models.Model):
    """应急联动号码 — 110, 119, 120, 122: numbers an agent transfers an emergency to."""

    name = models.CharField(_("name"), max_length=64)
    number = models.CharField(_("number"), max_length=32, unique=True)
    active = models.BooleanField(_("active"), default=True)
    sort_order = models.PositiveIntegerField(_("sort order"), default=0)

    class Meta:
        verbose_name = _("emergency number")
        verbose_name_plural = _("emergency numbers")
        ordering = ["sort_order", "number"]

    def __str__(self) -> str:
        return f"{self.number} {self.name}"


# --- Records -------------------------------------------------------------------------------------


class AgentStateLog(models.Model):
    """服务流水 — one change of an agent's state. A state lasts until the agent's next row."""

    agent = _agent_ref()
    state = models.CharField(_("state"), max_length=16, choices=AgentState.choices)
    at = models.DateTimeField(_("at"))
    reason = models.CharField(_("reason"), max_length=64, blank=True)
    call_id = models.CharField(_("call"), max_length=64, blank=True)
    queue = models.CharField(_("queue"), max_length=32, blank=True)
    by = _agent_ref("by")

    class Meta:
        verbose_name = _("agent state change")
        verbose_name_plural = _("agent state log")
        ordering = ["at", "id"]
        indexes = [
            models.Index(fields=["agent", "at"], name="agentstate_agent_at_idx"),
            models.Index(fields=["at"], name="agentstate_at_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.agent_id} {self.state} {self.at:%Y-%m-%d %H:%M:%S}"


class QueueEventLog(models.Model):
    """队列事件 — what happened to a call in a queue (entered, offered, connected, abandoned …)."""

    kind = models.CharField(_("kind"), max_length=16, choices=QueueEventKind.choices)
    at = models.DateTimeField(_("at"))
    queue = models.CharField(_("queue"), max_length=32, blank=True)
    call_id = models.CharField(_("call"), max_length=64, blank=True)
    agent = _agent_ref()
    position = models.PositiveIntegerField(_("position"), null=True, blank=True)
    wait_s = models.FloatField(_("wait (s)"), null=True, blank=True)
    data = models.JSONField(_("data"), default=dict, blank=True)

    class Meta:
        verbose_name = _("queue event")
        verbose_name_plural = _("queue event log")
        ordering = ["at", "id"]
        indexes = [
            models.Index(fields=["queue", "at"], name="queueevent_queue_at_idx"),
            models.Index(fields=["at"], name="queueevent_at_idx"),
            models.Index(fields=["agent", "at"], name="queueevent_agent_at_idx"),
            models.Index(fields=["call_id"], name="queueevent_call_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.queue} {self.kind} {self.call_id}"


class RecordMark(models.Model):
    """How complete the records are: every record of anything that began before ``settled`` is
    written. The switch sets it, with its records, to the start of its oldest call still going on
    or still being wrapped up by an agent (its clock's time when there is none); the hourly
    roll-ups seal an hour as soon as this has passed its end (docs/measures.md, "Roll-ups")."""

    SWITCH = "switch"  # the source the switch process keeps

    source = models.CharField(_("source"), max_length=32, unique=True)
    settled = models.DateTimeField(_("records complete before"))
    updated_at = models.DateTimeField(_("updated at"))

    class Meta:
        verbose_name = _("record mark")
        verbose_name_plural = _("record marks")

    def __str__(self) -> str:
        return f"{self.source}: {self.settled:%Y-%m-%d %H:%M:%S}"


class CallRecord(models.Model):
    """话单 — the call detail record: one row per call, written when it ends."""

    call_id = models.CharField(_("call"), max_length=64, unique=True)
    direction = models.CharField(_("direction"), max_length=8, choices=Direction.choices)
    caller = models.CharField(_("caller"), max_length=32)
    called = models.CharField(_("called"), max_length=32)
    trunk = models.CharField(_("trunk"), max_length=64, blank=True)
    started_at = models.DateTimeField(_("started at"))
    ended_at = models.DateTimeField(_("ended at"))
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices)
    queue = models.CharField(_("queue"), max_length=32, blank=True)
    agent = _agent_ref()
    queued_at = models.DateTimeField(_("queued at"), null=True, blank=True)
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    wait_s = models.FloatField(_("wait (s)"), default=0.0)
    talk_s = models.FloatField(_("talk (s)"), default=0.0)
    hold_s = models.FloatField(_("hold (s)"), default=0.0)
    transfers = models.PositiveIntegerField(_("transfers"), default=0)
    ivr_path = models.JSONField(_("IVR path"), default=list, blank=True)
    priority = models.IntegerField(_("priority"), default=0)
    data = models.JSONField(_("data"), default=dict, blank=True)

    class Meta:
        verbose_name = _("call record")
        verbose_name_plural = _("call records")
        ordering = ["-started_at", "-id"]
        permissions = [
            ("view_own_stats", "Can see their own call statistics"),
            ("view_all_stats", "Can see the statistics of every queue and agent"),
        ]
        indexes = [
            models.Index(fields=["started_at"], name="callrecord_started_idx"),
            models.Index(fields=["queue", "started_at"], name="callrecord_queue_idx"),
            models.Index(fields=["agent", "started_at"], name="callrecord_agent_idx"),
            models.Index(fields=["caller", "started_at"], name="callrecord_caller_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.call_id} {self.caller} → {self.called}"


class CallLeg(models.Model):
    """通话分段 — one party's connection in a call (caller, agent, consultation, supervisor …)."""

    call_id = models.CharField(_("call"), max_length=64)
    leg_id = models.CharField(_("leg"), max_length=64)
    kind = models.CharField(_("kind"), max_length=12, choices=LegKind.choices)
    party = models.CharField(_("party"), max_length=64)
    started_at = models.DateTimeField(_("started at"))
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended at"))
    cause = models.CharField(_("cause"), max_length=32, blank=True)
    agent = _agent_ref()
    trunk = models.CharField(_("trunk"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("call leg")
        verbose_name_plural = _("call legs")
        ordering = ["started_at", "id"]
        constraints = [models.UniqueConstraint(fields=["call_id", "leg_id"], name="call_leg_unique")]
        indexes = [models.Index(fields=["agent", "started_at"], name="callleg_agent_idx")]

    def __str__(self) -> str:
        return f"{self.call_id}/{self.leg_id} {self.party}"


class Voicemail(models.Model):
    """市民留言 — a message a caller left; an agent claims it and takes it in as a work order."""

    call_id = models.CharField(_("call"), max_length=64, unique=True)
    caller = models.CharField(_("caller"), max_length=32, db_index=True)
    audio_path = models.CharField(_("audio"), max_length=255)
    seconds = models.FloatField(_("length (s)"), default=0.0)
    received_at = models.DateTimeField(_("received at"), db_index=True)
    state = models.CharField(
        _("state"), max_length=8, choices=VoicemailState.choices, default=VoicemailState.NEW
    )
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("claimed by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    order = models.ForeignKey(
        "workorders.WorkOrder",
        verbose_name=_("work order"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    note = models.CharField(_("note"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("voicemail")
        verbose_name_plural = _("voicemails")
        ordering = ["-received_at", "-id"]
        permissions = [("process_voicemail", "Can claim voicemails and take them in as work orders")]
        indexes = [models.Index(fields=["state", "received_at"], name="voicemail_state_idx")]

    def __str__(self) -> str:
        return f"{self.caller} {self.received_at:%Y-%m-%d %H:%M}"


class CallbackRequest(models.Model):
    """回拨 — a caller to call back: after an abandoned call, an accepted callback offer or a
    voicemail."""

    call_id = models.CharField(_("call"), max_length=64, blank=True)
    caller = models.CharField(_("caller"), max_length=32, db_index=True)
    queue = models.CharField(_("queue"), max_length=32, blank=True)
    reason = models.CharField(_("reason"), max_length=16, choices=CallbackReason.choices)
    requested_at = models.DateTimeField(_("requested at"))
    state = models.CharField(
        _("state"), max_length=8, choices=CallbackState.choices, default=CallbackState.NEW
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("claimed by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    last_attempt_at = models.DateTimeField(_("last attempt"), null=True, blank=True)
    result = models.CharField(_("result"), max_length=16, choices=CallbackResult.choices, blank=True)
    note = models.CharField(_("note"), max_length=500, blank=True)
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    order = models.ForeignKey(
        "workorders.WorkOrder",
        verbose_name=_("work order"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        verbose_name = _("callback request")
        verbose_name_plural = _("callback requests")
        ordering = ["requested_at", "id"]
        permissions = [("process_callback", "Can claim and complete callback requests")]
        constraints = [
            models.UniqueConstraint(
                fields=["call_id", "reason"], condition=~Q(call_id=""), name="callback_call_unique"
            )
        ]
        indexes = [models.Index(fields=["state", "requested_at"], name="callback_state_idx")]

    def __str__(self) -> str:
        return f"{self.caller} ({self.get_reason_display()})"


class CallOrderLink(models.Model):
    """通话关联工单 — a work order taken in during a call (or from its voicemail): the order is found
    from the call and the call's recording from the order. Written by ``services.call_order_link``."""

    call_id = models.CharField(_("call"), max_length=64)
    order = models.ForeignKey(
        "workorders.WorkOrder",
        verbose_name=_("work order"),
        on_delete=models.PROTECT,
        related_name="call_links",
    )
    linked_at = models.DateTimeField(_("linked at"), default=timezone.now)
    linked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("linked by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("call and order link")
        verbose_name_plural = _("call and order links")
        ordering = ["linked_at", "id"]
        constraints = [models.UniqueConstraint(fields=["call_id", "order"], name="call_order_link_unique")]

    def __str__(self) -> str:
        return f"{self.call_id} → {self.order_id}"
