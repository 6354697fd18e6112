"""The working calendar (W7): administrators' day overrides, the centre's working hours, and the
deadline rules of each step. The arithmetic on them lives in ``engine.py``; see ``docs/sla.md``."""

from __future__ import annotations

import datetime

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from .choices import CalendarDayKind, DeadlineStep, DurationMeasure, Urgency


class CalendarDay(models.Model):
    """An administrator's override of one date. It wins over the official holiday data: a
    ``workday`` makes a weekend or holiday a working day (e.g. a make-up day the library does not
    know yet), a ``holiday`` makes a working day a day off."""

    date = models.DateField(_("date"), unique=True)
    kind = models.CharField(_("kind"), max_length=16, choices=CalendarDayKind.choices)
    name = models.CharField(_("name"), max_length=64, blank=True, help_text=_("For example 春节."))
    note = models.CharField(_("note"), max_length=255, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("calendar day")
        verbose_name_plural = _("calendar days")
        ordering = ["date"]

    def __str__(self) -> str:
        label = CalendarDayKind(self.kind).label
        suffix = f" {self.name}" if self.name else ""
        return f"{self.date.isoformat()} {label}{suffix}"


class WorkingHours(models.Model):
    """One working period of a working day, in the centre's time zone (Asia/Shanghai). Every working
    day has the same periods; the default is 08:30–12:00 and 13:30–17:30."""

    start = models.TimeField(_("starts at"))
    end = models.TimeField(_("ends at"))
    note = models.CharField(_("note"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("working period")
        verbose_name_plural = _("working hours")
        ordering = ["start"]

    def __str__(self) -> str:
        return f"{_hhmm(self.start)}–{_hhmm(self.end)}"


def duration_text(amount: int, measure: str) -> str:
    """For example "5 working days", "1 working hour", "24 calendar hours"."""
    if measure == DurationMeasure.WORKING_HOURS:
        text = ngettext("%(count)d working hour", "%(count)d working hours", amount)
    elif measure == DurationMeasure.WORKING_DAYS:
        text = ngettext("%(count)d working day", "%(count)d working days", amount)
    else:
        text = ngettext("%(count)d calendar hour", "%(count)d calendar hours", amount)
    return text % {"count": amount}


def _hhmm(value: datetime.time | None) -> str:
    return value.strftime("%H:%M") if value is not None else "?"


class DeadlineRule(models.Model):
    """步骤时限规则: how long a step may take for the requests it matches.

    Empty match fields match anything. A category matches itself and every category under it.
    ``deadline_rule_for`` picks the most specific active rule (``docs/sla.md``).
    """

    step = models.CharField(_("step"), max_length=16, choices=DeadlineStep.choices)
    request_type = models.ForeignKey(
        "taxonomy.RequestType",
        verbose_name=_("request type"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("Empty: any type."),
    )
    category = models.ForeignKey(
        "taxonomy.Category",
        verbose_name=_("category"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("Empty: any category. A category also matches every category under it."),
    )
    urgency = models.CharField(
        _("urgency"),
        max_length=16,
        choices=Urgency.choices,
        blank=True,
        help_text=_("Empty: any urgency."),
    )
    complex_case = models.BooleanField(
        _("complex case"),
        null=True,
        blank=True,
        help_text=_("Empty: complex or not."),
    )
    amount = models.PositiveIntegerField(_("amount"))
    measure = models.CharField(_("measure"), max_length=16, choices=DurationMeasure.choices)
    active = models.BooleanField(_("active"), default=True)
    priority = models.SmallIntegerField(
        _("priority"),
        default=0,
        help_text=_(
            "A higher priority wins over a more specific rule. Leave at 0 to let the most specific rule win."
        ),
    )
    note = models.CharField(_("note"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("deadline rule")
        verbose_name_plural = _("deadline rules")
        ordering = ["step", "-priority", "id"]
        indexes = [models.Index(fields=["step", "active"], name="deadlinerule_step_active")]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="deadlinerule_amount_positive"),
        ]

    def __str__(self) -> str:
        return self.description

    @property
    def description(self) -> str:
        """For example "Complete and answer · Emergency … · 2 Calendar hours"."""
        parts: list[str] = [str(DeadlineStep(self.step).label)]
        if self.request_type_id is not None and self.request_type is not None:
            parts.append(self.request_type.name)
        if self.category_id is not None and self.category is not None:
            parts.append(f"{self.category.code} {self.category.name}")
        if self.urgency:
            parts.append(str(Urgency(self.urgency).label))
        if self.complex_case is True:
            parts.append(str(_("complex")))
        elif self.complex_case is False:
            parts.append(str(_("not complex")))
        if len(parts) == 1:
            parts.append(str(_("any request")))
        return f"{' · '.join(parts)} → {duration_text(self.amount, self.measure)}"
