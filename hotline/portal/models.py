"""What the citizen portal keeps of its own: recent attempts per address, for rate limiting.

Orders themselves live in ``hotline.workorders``; the portal only remembers, for a few hours, that an
address submitted or looked something up (the default cache is per process, so the count lives in
the database, where every web worker sees it).
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AttemptKind(models.TextChoices):
    SUBMIT = "submit", _("Submission")
    TRACK = "track", _("Tracking lookup")


class PortalAttempt(models.Model):
    """One submission or tracking lookup from one address. Rows older than a day are pruned."""

    kind = models.CharField(_("kind"), max_length=16, choices=AttemptKind.choices)
    ip = models.CharField(_("address"), max_length=64)
    at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        verbose_name = _("portal attempt")
        verbose_name_plural = _("portal attempts")
        indexes = [
            models.Index(fields=["kind", "ip", "at"], name="portal_attempt_ip_idx"),
            models.Index(fields=["at"], name="portal_attempt_at_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.ip} {self.at:%Y-%m-%d %H:%M}"
