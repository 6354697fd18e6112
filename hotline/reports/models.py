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
