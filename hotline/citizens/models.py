"""Citizens who contact the hotline: their profile and personal data (masked, audited)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Citizen(models.Model):
    """市民档案 — a caller or writer, found again by phone number.

    Phone and ID number are personal data: roles without ``citizens.view_personal_data`` see them
    masked, and every unmasked read is written to the audit log.
    """

    PERSONAL_FIELDS = ("phone", "id_number")

    name = models.CharField(_("name"), max_length=64, blank=True)
    phone = models.CharField(_("phone"), max_length=32, db_index=True)
    id_number = models.CharField(_("ID number"), max_length=32, blank=True)
    address = models.CharField(_("address"), max_length=200, blank=True)
    region = models.ForeignKey(
        "orgs.Region", verbose_name=_("region"), null=True, blank=True, on_delete=models.PROTECT
    )
    note = models.CharField(_("note"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        verbose_name = _("citizen")
        verbose_name_plural = _("citizens")
        ordering = ["-updated_at"]
        permissions = [("view_personal_data", "Can see citizens' phone and ID numbers unmasked")]

    def __str__(self) -> str:
        return self.name or self.phone
