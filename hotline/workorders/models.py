"""The work order (工单) and everything that happens to it.

One ``WorkOrder`` per citizen request, whatever the channel. Units receive it through
``Assignment`` rows (主办/协办); every step is an immutable ``OrderEvent``. Deadlines are indexed
columns with their warning thresholds precomputed, so the deadline scan is a few indexed range
queries (``tasks.py``).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from hotline.workcalendar.choices import Urgency

from .choices import (
    AssignmentRole,
    AssignmentState,
    Channel,
    DeadlineLevel,
    ExtensionState,
    OrderAction,
    OrderState,
    Result,
    RevisitMethod,
    Satisfaction,
    SupervisionKind,
)


class DailySequence(models.Model):
    """The last tracking number handed out on a day (Asia/Shanghai)."""

    day = models.DateField(primary_key=True)
    last = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.day}: {self.last}"


class WorkOrder(models.Model):
    """工单 — one citizen request, from intake to close, whatever the channel."""

    number = models.CharField(_("tracking number"), max_length=20, unique=True)
    # No single-column indexes where a composite index below starts with the column: every index
    # costs each write (the deadline scan rewrites thousands of rows at once; docs/performance.md).
    state = models.CharField(_("state"), max_length=24, choices=OrderState.choices)
    round = models.PositiveSmallIntegerField(_("round"), default=1)  # 二次派单 starts round 2

    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    request_type = models.ForeignKey(
        "taxonomy.RequestType", verbose_name=_("request type"), on_delete=models.PROTECT, db_index=False
    )  # six values: an index would not be used
    category = models.ForeignKey(
        "taxonomy.Category", verbose_name=_("category"), null=True, blank=True, on_delete=models.PROTECT
    )
    urgency = models.CharField(_("urgency"), max_length=16, choices=Urgency.choices, default=Urgency.NORMAL)
    complex_case = models.BooleanField(_("complex case"), default=False)
    title = models.CharField(_("title"), max_length=200)
    content = models.TextField(_("content"))

    citizen = models.ForeignKey(
        "citizens.Citizen",
        verbose_name=_("citizen"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="orders",
    )
    citizen_name = models.CharField(_("citizen's name"), max_length=64, blank=True)
    citizen_phone = models.CharField(_("citizen's phone"), max_length=32, blank=True)  # order_repeat_idx
    citizen_id_number = models.CharField(_("citizen's ID number"), max_length=32, blank=True)
    anonymous = models.BooleanField(_("anonymous to units"), default=False)  # 匿名
    confidential = models.BooleanField(_("confidential"), default=False)  # 保密
    address = models.CharField(_("address"), max_length=300, blank=True)
    region = models.ForeignKey(
        "orgs.Region", verbose_name=_("region"), null=True, blank=True, on_delete=models.PROTECT
    )
    source_contact = models.CharField(_("source contact"), max_length=200, blank=True)

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("taken by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("received at"), default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    # The unit currently leading the order (denormalised from the active lead assignment).
    lead_unit = models.ForeignKey(
        "orgs.Unit",
        verbose_name=_("lead unit"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,  # the composite indexes below start with it
    )
    dispatched_at = models.DateTimeField(_("dispatched at"), null=True, blank=True)

    # The deadline that is running now (sign or answer), with precomputed warning moments.
    # The thresholds are indexed for the deadline scan (``tasks.py``), which looks for thresholds
    # passed since its previous run. ``deadline_level`` and ``was_overdue``, which the scan writes,
    # are in no index, so that its updates touch no index (PostgreSQL: heap-only updates).
    due_at = models.DateTimeField(_("due at"), null=True, blank=True, db_index=True)
    due_started_at = models.DateTimeField(null=True, blank=True)
    warn_at = models.DateTimeField(null=True, blank=True, db_index=True)  # 70 %
    urgent_at = models.DateTimeField(null=True, blank=True, db_index=True)  # 90 %
    deadline_level = models.PositiveSmallIntegerField(
        _("deadline level"), choices=DeadlineLevel.choices, default=DeadlineLevel.ON_TIME
    )
    answer_due_at = models.DateTimeField(_("answer due"), null=True, blank=True)
    clock_paused_at = models.DateTimeField(null=True, blank=True)
    was_overdue = models.BooleanField(_("was overdue"), default=False)
    # a unit's own deadline (to sign, to answer) passed while the unit held the order; the centre's
    # steps (dispatch, review, revisit) running late set ``was_overdue`` only
    unit_overdue = models.BooleanField(_("overdue at a unit"), default=False)

    result = models.CharField(_("result"), max_length=16, choices=Result.choices, blank=True)
    answer = models.TextField(_("answer"), blank=True)
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    satisfaction = models.CharField(
        _("satisfaction"), max_length=16, choices=Satisfaction.choices, blank=True
    )
    # What the order's other rows say, kept on the order by the services in the same transaction
    # (the reports count them without a join): the latest revisit's answer to "resolved?"
    # (``satisfaction`` above is its other answer), whether any revisit reached the citizen,
    # whether an extension was approved, whether a lead unit's return was accepted.
    resolved = models.BooleanField(_("resolved (latest revisit)"), null=True, blank=True)
    revisited = models.BooleanField(_("citizen reached by a revisit"), default=False)
    extended = models.BooleanField(_("extension approved"), default=False)
    returned = models.BooleanField(_("returned by a lead unit"), default=False)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    closed_directly = models.BooleanField(_("answered at intake"), default=False)
    merged_into = models.ForeignKey(
        "self",
        verbose_name=_("merged into"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="merged_orders",
    )
    supervised = models.BooleanField(_("under supervision"), default=False)

    class Meta:
        verbose_name = _("work order")
        verbose_name_plural = _("work orders")
        ordering = ["-created_at", "-id"]
        permissions = [
            ("intake_workorder", "Can take requests in as work orders"),
            ("dispatch_workorder", "Can dispatch, arbitrate returns and decide extensions"),
            ("handle_workorder", "Can sign, return, note, ask for extensions and answer"),
            ("review_workorder", "Can review answers, revisit, close, cancel, reopen and merge"),
            ("supervise_workorder", "Can issue supervision notices and reminders"),
            ("instruct_workorder", "Can give leader instructions"),
            ("contact_citizen", "Can see the phone of a citizen who did not ask for anonymity"),
        ]
        indexes = [
            models.Index(fields=["state", "due_at"], name="order_state_due_idx"),
            # a unit's inbox: its orders per state in deadline order; near deadline (70 % passed)
            # and overdue are ranges of the same index. The id at the end lets a page's sort keys
            # and ids be read from the index alone (``selectors.OrderUnion``; SQLite's indexes
            # hold the row id anyway).
            models.Index(
                fields=["lead_unit", "state", "due_at", "warn_at", "id"], name="order_unit_due_warn_id_idx"
            ),
            # a unit's search: state, date range and category read from the index alone, ids too
            models.Index(
                fields=["lead_unit", "state", "created_at", "category", "id"],
                name="order_unit_created_cat_idx",
            ),
            models.Index(fields=["citizen_phone", "category", "created_at"], name="order_repeat_idx"),
            # orders completed in a period (the dashboard's "completed today", the reports); partial,
            # so that intake, the hottest write, does not touch it
            models.Index(
                fields=["closed_at"], name="order_closed_idx", condition=models.Q(closed_at__isnull=False)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"


class Assignment(models.Model):
    """派单记录 — an order sent to a unit, as lead (主办) or assisting (协办), in one round."""

    order = models.ForeignKey(WorkOrder, on_delete=models.CASCADE, related_name="assignments")
    unit = models.ForeignKey("orgs.Unit", verbose_name=_("unit"), on_delete=models.PROTECT, related_name="+")
    role = models.CharField(_("role"), max_length=8, choices=AssignmentRole.choices)
    state = models.CharField(_("state"), max_length=16, choices=AssignmentState.choices)
    round = models.PositiveSmallIntegerField(default=1)
    dispatched_at = models.DateTimeField(default=timezone.now)
    dispatched_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    sign_due_at = models.DateTimeField(null=True, blank=True)
    signed_at = models.DateTimeField(null=True, blank=True)
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    note = models.CharField(_("note"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("assignment")
        verbose_name_plural = _("assignments")
        ordering = ["dispatched_at", "id"]
        # a unit's assignments by role and state (its assisting orders: a few among thousands), with
        # the order so that the list of a unit's assisting orders is read from the index alone
        indexes = [
            models.Index(fields=["unit", "role", "state", "order"], name="assignment_unit_role_order_idx"),
            models.Index(fields=["dispatched_at"], name="assignment_dispatched_idx"),  # dispatched today
        ]

    def __str__(self) -> str:
        return f"{self.order.number} → {self.unit} ({self.role})"


class AppendOnlyQuerySet(models.QuerySet[Any]):
    def update(self, **kwargs: Any) -> int:
        raise TypeError("order history is append-only")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise TypeError("order history is append-only")


class OrderEvent(models.Model):
    """工单流转记录 — one immutable step of an order's history."""

    order = models.ForeignKey(WorkOrder, on_delete=models.PROTECT, related_name="events")
    at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_unit = models.ForeignKey(
        "orgs.Unit", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    action = models.CharField(_("action"), max_length=24, choices=OrderAction.choices)
    from_state = models.CharField(max_length=24, blank=True)
    to_state = models.CharField(max_length=24, blank=True)
    round = models.PositiveSmallIntegerField(default=1)
    reason = models.TextField(_("reason"), blank=True)
    data = models.JSONField(default=dict, blank=True)
    visible_to_units = models.BooleanField(default=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        verbose_name = _("order event")
        verbose_name_plural = _("order history")
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["order", "at"], name="orderevent_order_at_idx")]

    def __str__(self) -> str:
        return f"{self.order_id} {self.action} {self.at:%Y-%m-%d %H:%M}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise TypeError("order history is append-only")
        super().save(*args, **kwargs)


def attachment_path(instance: Attachment, filename: str) -> str:
    day = timezone.now().strftime("%Y/%m/%d")
    return f"orders/{day}/{instance.order_id}/{filename}"


class Attachment(models.Model):
    """附件 — a photo or document on an order, from the citizen, the centre or a unit."""

    order = models.ForeignKey(WorkOrder, on_delete=models.PROTECT, related_name="attachments")
    event = models.ForeignKey(
        OrderEvent, null=True, blank=True, on_delete=models.PROTECT, related_name="attachments"
    )
    file = models.FileField(_("file"), upload_to=attachment_path, max_length=300)
    name = models.CharField(_("name"), max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    def __str__(self) -> str:
        return self.name


class Extension(models.Model):
    """延期申请 — a unit asks for more time; the centre approves or refuses."""

    order = models.ForeignKey(WorkOrder, on_delete=models.PROTECT, related_name="extensions")
    unit = models.ForeignKey("orgs.Unit", on_delete=models.PROTECT, related_name="+")
    working_days = models.PositiveSmallIntegerField(_("working days"))
    reason = models.TextField(_("reason"))
    state = models.CharField(max_length=16, choices=ExtensionState.choices, default=ExtensionState.PENDING)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(max_length=500, blank=True)
    old_due_at = models.DateTimeField(null=True, blank=True)
    new_due_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("extension request")
        verbose_name_plural = _("extension requests")
        indexes = [models.Index(fields=["state", "requested_at"], name="extension_state_idx")]

    def __str__(self) -> str:
        return f"{self.order_id}: +{self.working_days} ({self.state})"


class Revisit(models.Model):
    """回访 — the centre asks the citizen whether the problem was solved and how satisfied they are."""

    order = models.ForeignKey(WorkOrder, on_delete=models.PROTECT, related_name="revisits")
    round = models.PositiveSmallIntegerField()
    method = models.CharField(_("method"), max_length=16, choices=RevisitMethod.choices)
    resolved = models.BooleanField(_("resolved"), null=True)
    satisfaction = models.CharField(max_length=16, choices=Satisfaction.choices, blank=True)
    comment = models.TextField(_("comment"), blank=True)
    reopened = models.BooleanField(default=False)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("revisit")
        verbose_name_plural = _("revisits")

    def __str__(self) -> str:
        return f"{self.order_id}: {self.method} {self.satisfaction}"


class Supervision(models.Model):
    """督办/催办 — a notice or reminder from the centre to the units, with its own deadline."""

    order = models.ForeignKey(WorkOrder, on_delete=models.PROTECT, related_name="supervisions")
    kind = models.CharField(max_length=16, choices=SupervisionKind.choices)
    message = models.TextField(_("message"))
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    automatic = models.BooleanField(default=False)
    at = models.DateTimeField(default=timezone.now)
    due_at = models.DateTimeField(null=True, blank=True, db_index=True)
    escalated_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("supervision")
        verbose_name_plural = _("supervisions")

    def __str__(self) -> str:
        return f"{self.order_id}: {self.kind}"


class Instruction(models.Model):
    """领导批示 — a leader's instruction on an order, shown to the units handling it."""

    order = models.ForeignKey(WorkOrder, on_delete=models.PROTECT, related_name="instructions")
    leader = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    text = models.TextField(_("instruction"))
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("leader instruction")
        verbose_name_plural = _("leader instructions")

    def __str__(self) -> str:
        return f"{self.order_id}: {self.text[:20]}"


class OrderLink(models.Model):
    """关联工单 — two orders about the same problem (stored once, lower id first)."""

    a = models.ForeignKey(WorkOrder, on_delete=models.CASCADE, related_name="+")
    b = models.ForeignKey(WorkOrder, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(max_length=200, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["a", "b"], name="order_link_unique")]

    def __str__(self) -> str:
        return f"{self.a_id} ~ {self.b_id}"


class DeadlineScanMark(models.Model):
    """How far the deadline scan has looked: every threshold up to ``scanned_to`` has been handled,
    so the next scan reads only the thresholds passed since (``tasks.deadlines_scan``)."""

    name = models.CharField(max_length=32, primary_key=True)
    scanned_to = models.DateTimeField()

    class Meta:
        verbose_name = _("deadline scan mark")
        verbose_name_plural = _("deadline scan marks")

    def __str__(self) -> str:
        return f"{self.name}: {self.scanned_to:%Y-%m-%d %H:%M:%S}"
