"""Report configuration and the hourly roll-ups of the call records (docs/measures.md).

The roll-ups hold additive figures only (counts, sums of seconds, maxima) for *sealed* hours —
hours that ended long enough ago that no record of them can still arrive. A report over a range
adds the sealed hours' rows and computes the unsealed tail from the raw records, so it always
equals a count over the raw rows (``bench/reports.py`` checks this: ``matches_raw_counts``).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


def default_weights() -> dict[str, float]:
    # Beijing's three rates (响应率, 解决率, 满意率) carry the assessment; the rest inform it.
    return {"sign_rate": 0.2, "resolution_rate": 0.4, "satisfaction_rate": 0.4}


class AssessmentScheme(models.Model):
    """考核方案 — the weights that turn a unit's rates into one score for the ranking."""

    name = models.CharField(_("name"), max_length=64, unique=True)
    weights = models.JSONField(
        _("weights"),
        default=default_weights,
        help_text=_('Measure name → weight, e.g. {"sign_rate": 0.2, "satisfaction_rate": 0.4}'),
    )
    active = models.BooleanField(_("in use"), default=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        verbose_name = _("assessment scheme")
        verbose_name_plural = _("assessment schemes")
        ordering = ["name"]
        permissions = [
            ("view_reports", "Can open the reports of work orders and calls"),
            ("view_dashboard", "Can open the leaders' dashboard and the wall screen"),
            ("view_assessment", "Can open the department assessment"),
            ("export_reports", "Can export reports to Excel and PDF"),
        ]

    def __str__(self) -> str:
        return self.name


class ReportRecipient(models.Model):
    """Who receives the monthly report by e-mail (a leader's account, or an outside address)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    email = models.EmailField(_("e-mail"), blank=True)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("monthly report recipient")
        verbose_name_plural = _("monthly report recipients")

    def __str__(self) -> str:
        return self.email or str(self.user)


# --- Hourly roll-ups of the contact centre's records (reports/rollup.py) ------------------------------
#
# One row per sealed hour (``hour`` is the hour's start, stored in UTC; Asia/Shanghai has no daylight
# saving, so a UTC hour is a local hour) and per queue, agent, number … Every figure is additive: a
# report over many hours adds them and derives the rates and averages from the sums.


def _agent_ref() -> models.ForeignKey:  # type: ignore[type-arg]
    """A reference to a user from a roll-up row: no constraint, never cascades (as the records)."""
    return models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("agent"),
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,  # the unique (hour, agent) index serves the ranges; reports group by agent
        related_name="+",
    )


class QueueHour(models.Model):
    """队列小时汇总 — one queue's visits that entered in one hour, with their outcomes and times
    (``callcenter.selectors.queue_stats`` over that hour)."""

    hour = models.DateTimeField(_("hour"))
    queue = models.CharField(_("queue"), max_length=32)
    service_level_s = models.PositiveIntegerField(_("service level (s)"), null=True, blank=True)
    short_abandon_s = models.PositiveIntegerField(_("short abandon (s)"))
    offered = models.PositiveIntegerField(_("offered"), default=0)
    answered = models.PositiveIntegerField(_("answered"), default=0)
    answered_in_sl = models.PositiveIntegerField(_("answered within the service level"), default=0)
    abandoned = models.PositiveIntegerField(_("abandoned"), default=0)
    abandoned_short = models.PositiveIntegerField(_("short abandons"), default=0)
    overflowed = models.PositiveIntegerField(_("overflowed"), default=0)
    timed_out = models.PositiveIntegerField(_("maximum wait reached"), default=0)
    voicemail = models.PositiveIntegerField(_("voicemail"), default=0)
    callback = models.PositiveIntegerField(_("callback"), default=0)
    unanswered_offers = models.PositiveIntegerField(_("unanswered offers"), default=0)
    all_busy = models.PositiveIntegerField(_("all-busy waits"), default=0)
    transfers = models.PositiveIntegerField(_("transfers"), default=0)
    answer_wait_s = models.FloatField(_("wait of the answered (s)"), default=0.0)
    abandon_wait_s = models.FloatField(_("wait of the abandoned (s)"), default=0.0)
    longest_wait_s = models.FloatField(_("longest wait (s)"), default=0.0)
    talk_s = models.FloatField(_("talk (s)"), default=0.0)
    hold_s = models.FloatField(_("hold (s)"), default=0.0)
    wrap_up_s = models.FloatField(_("wrap-up (s)"), default=0.0)

    class Meta:
        verbose_name = _("queue hour")
        verbose_name_plural = _("queue hours")
        ordering = ["hour", "queue"]
        constraints = [models.UniqueConstraint(fields=["hour", "queue"], name="queue_hour_unique")]

    def __str__(self) -> str:
        return f"{self.queue} {self.hour:%Y-%m-%d %H:%M}"


class AgentHour(models.Model):
    """坐席小时汇总 — one agent's counted events and time in each state in one hour
    (``callcenter.selectors.agent_stats`` over that hour). Hours without any activity have no row."""

    hour = models.DateTimeField(_("hour"))
    agent = _agent_ref()
    offered = models.PositiveIntegerField(_("offered"), default=0)
    answered = models.PositiveIntegerField(_("answered"), default=0)
    unanswered_offers = models.PositiveIntegerField(_("unanswered offers"), default=0)
    transfers = models.PositiveIntegerField(_("transfers"), default=0)
    locked_count = models.PositiveIntegerField(_("locks"), default=0)
    off_hook_count = models.PositiveIntegerField(_("off-hook count"), default=0)
    handle_talk_s = models.FloatField(_("talk of the answered calls (s)"), default=0.0)
    handle_hold_s = models.FloatField(_("hold of the answered calls (s)"), default=0.0)
    handle_wrap_up_s = models.FloatField(_("wrap-up of the answered calls (s)"), default=0.0)
    logged_in_s = models.FloatField(_("logged in (s)"), default=0.0)
    ready_s = models.FloatField(_("ready (s)"), default=0.0)
    ringing_s = models.FloatField(_("ringing (s)"), default=0.0)
    talk_s = models.FloatField(_("talking (s)"), default=0.0)
    hold_s = models.FloatField(_("on hold (s)"), default=0.0)
    wrap_up_s = models.FloatField(_("wrap-up (s)"), default=0.0)
    pause_s = models.FloatField(_("paused (s)"), default=0.0)
    locked_s = models.FloatField(_("locked (s)"), default=0.0)
    off_hook_s = models.FloatField(_("off hook (s)"), default=0.0)

    class Meta:
        verbose_name = _("agent hour")
        verbose_name_plural = _("agent hours")
        ordering = ["hour", "agent"]
        constraints = [models.UniqueConstraint(fields=["hour", "agent"], name="agent_hour_unique")]

    def __str__(self) -> str:
        return f"{self.agent_id} {self.hour:%Y-%m-%d %H:%M}"


class AgentPauseHour(models.Model):
    """An agent's pause time in one hour by pause reason (示忙原因)."""

    hour = models.DateTimeField(_("hour"))
    agent = _agent_ref()
    reason = models.CharField(_("reason"), max_length=64, blank=True)
    seconds = models.FloatField(_("seconds"), default=0.0)

    class Meta:
        verbose_name = _("agent pause hour")
        verbose_name_plural = _("agent pause hours")
        ordering = ["hour", "agent", "reason"]
        constraints = [
            models.UniqueConstraint(fields=["hour", "agent", "reason"], name="agent_pause_hour_unique")
        ]

    def __str__(self) -> str:
        return f"{self.agent_id} {self.reason} {self.hour:%Y-%m-%d %H:%M}"


class CallHour(models.Model):
    """话单小时汇总 — the call records that started in one hour, by direction, hotline number
    (``called``), trunk and outcome."""

    hour = models.DateTimeField(_("hour"))
    direction = models.CharField(_("direction"), max_length=8)
    called = models.CharField(_("called"), max_length=32)
    trunk = models.CharField(_("trunk"), max_length=64, blank=True)
    outcome = models.CharField(_("outcome"), max_length=16)
    service_level_s = models.PositiveIntegerField(_("service level (s)"))
    short_abandon_s = models.PositiveIntegerField(_("short abandon (s)"))
    calls = models.PositiveIntegerField(_("calls"), default=0)
    queued = models.PositiveIntegerField(_("asked for an agent"), default=0)
    answered = models.PositiveIntegerField(_("answered"), default=0)
    answered_in_sl = models.PositiveIntegerField(_("answered within the service level"), default=0)
    abandoned_short = models.PositiveIntegerField(_("short abandons"), default=0)
    answer_wait_s = models.FloatField(_("wait until the first answer (s)"), default=0.0)
    wait_s = models.FloatField(_("wait (s)"), default=0.0)
    talk_s = models.FloatField(_("talk (s)"), default=0.0)
    hold_s = models.FloatField(_("hold (s)"), default=0.0)
    transfers = models.PositiveIntegerField(_("transfers"), default=0)

    class Meta:
        verbose_name = _("call hour")
        verbose_name_plural = _("call hours")
        ordering = ["hour", "direction", "called", "trunk", "outcome"]
        constraints = [
            models.UniqueConstraint(
                fields=["hour", "direction", "called", "trunk", "outcome"], name="call_hour_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.called} {self.trunk} {self.outcome} {self.hour:%Y-%m-%d %H:%M}"


class TrunkLegHour(models.Model):
    """Outbound legs through one trunk that started in one hour (docs/telephony.md "Trunk records")."""

    hour = models.DateTimeField(_("hour"))
    trunk = models.CharField(_("trunk"), max_length=64)
    offered = models.PositiveIntegerField(_("offered"), default=0)
    answered = models.PositiveIntegerField(_("answered"), default=0)

    class Meta:
        verbose_name = _("trunk outbound hour")
        verbose_name_plural = _("trunk outbound hours")
        ordering = ["hour", "trunk"]
        constraints = [models.UniqueConstraint(fields=["hour", "trunk"], name="trunk_leg_hour_unique")]

    def __str__(self) -> str:
        return f"{self.trunk} {self.hour:%Y-%m-%d %H:%M}"


class RollupMark(models.Model):
    """How far the hours are rolled up: every hour that began before ``until`` has its rows."""

    name = models.CharField(_("name"), max_length=32, unique=True)
    until = models.DateTimeField(_("rolled up until"))
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        verbose_name = _("roll-up mark")
        verbose_name_plural = _("roll-up marks")

    def __str__(self) -> str:
        return f"{self.name}: {self.until:%Y-%m-%d %H:%M}"
