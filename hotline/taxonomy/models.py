"""Request types and the 3-level category tree (W1)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class RequestType(models.Model):
    """诉求类型 — 咨询, 投诉, 举报, 求助, 建议, 表扬."""

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=32)
    active = models.BooleanField(_("active"), default=True)
    sort_order = models.PositiveIntegerField(_("sort order"), default=0)

    class Meta:
        verbose_name = _("request type")
        verbose_name_plural = _("request types")
        ordering = ["sort_order", "code"]

    def __str__(self) -> str:
        return self.name


class Category(models.Model):
    """诉求分类 — one node of the 3-level category tree, with a hierarchical code.

    Codes have two digits per level (``01`` → ``0103`` → ``010302``), in the style of GB/T 39666.
    A category is never deleted once used: it is retired (``active=False``), which hides it from
    intake while every old record keeps pointing at it.
    """

    MAX_LEVEL = 3

    code = models.CharField(_("code"), max_length=16, unique=True)
    name = models.CharField(_("name"), max_length=64)
    level = models.PositiveSmallIntegerField(_("level"))
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent category"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    active = models.BooleanField(_("active"), default=True)
    retired_at = models.DateTimeField(_("retired at"), null=True, blank=True)
    sort_order = models.PositiveIntegerField(_("sort order"), default=0)

    class Meta:
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(fields=["parent", "name"], name="category_unique_name_in_parent"),
        ]
        permissions = [("import_taxonomy", "Can import the category tree from CSV")]

    def __str__(self) -> str:
        return self.name

    @property
    def full_name(self) -> str:
        names = [self.name]
        node = self.parent
        while node is not None:
            names.append(node.name)
            node = node.parent
        return " / ".join(reversed(names))
