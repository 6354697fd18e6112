"""The navigation menu: each entry names the permission it needs; a user sees what they may open.

Entries pointing into the Django admin also need ``is_staff`` (the admin site refuses anyone
else). An entry whose URL cannot be reversed (its app is not wired in yet) is left out instead of
breaking every page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

# Menu groups, in display order.
WORK = "work"
MANAGE = "manage"
HELP = "help"

GROUP_LABELS: dict[str, Any] = {
    WORK: _("Workspace"),
    MANAGE: _("Management"),
    HELP: _("Help"),
}


@dataclass(frozen=True)
class MenuItem:
    label: Any
    url_name: str
    perm: str | None = None
    staff_only: bool = False  # a page of the Django admin
    group: str = WORK
    icon: str = "home"  # a name in the sprite of templates/includes/icons.html
    exact_match: bool = False  # highlight only on its own address (its pages lie below others')

    @property
    def url(self) -> str | None:
        """The entry's address, or ``None`` when its URL pattern does not exist (yet)."""
        try:
            return reverse(self.url_name)
        except NoReverseMatch:
            return None

    @property
    def exact(self) -> bool:
        """Highlight only on its own address (the home page is a prefix of everything)."""
        return self.exact_match or self.url_name == "core:home"

    @property
    def group_label(self) -> Any:
        return GROUP_LABELS.get(self.group, self.group)

    def visible_to(self, user: Any) -> bool:
        if self.staff_only and not user.is_staff:
            return False
        return self.perm is None or user.has_perm(self.perm)


MENU = [
    MenuItem(_("Home"), "core:home", icon="home"),
    MenuItem(_("Agent desktop"), "callcenter:desk", perm="callcenter.take_calls", icon="headset"),
    MenuItem(_("Take a request"), "workorders:new", perm="workorders.intake_workorder", icon="log"),
    MenuItem(_("Call-centre wall"), "callcenter:wall", perm="callcenter.supervise_agents", icon="users"),
    MenuItem(_("Test phone"), "callcenter:phone", perm="callcenter.supervise_agents", icon="headset"),
    MenuItem(_("Call recordings"), "telephony:recordings", perm="telephony.play_recording", icon="list"),
    MenuItem(_("Dispatch and review"), "workorders:queue", perm="workorders.dispatch_workorder", icon="list"),
    MenuItem(_("Unit inbox"), "workorders:inbox", perm="workorders.handle_workorder", icon="inbox"),
    MenuItem(
        _("Supervision overview"), "workorders:leader", perm="workorders.instruct_workorder", icon="alert"
    ),
    MenuItem(_("Orders"), "workorders:list", perm="workorders.view_workorder", icon="log", exact_match=True),
    MenuItem(_("Leader dashboard"), "reports:dashboard", perm="reports.view_dashboard", icon="home"),
    MenuItem(_("Reports"), "reports:index", perm="reports.view_reports", icon="list", exact_match=True),
    MenuItem(_("Notifications"), "notify:inbox", icon="inbox"),
    MenuItem(
        _("Org tree"),
        "admin:orgs_unit_changelist",
        perm="orgs.change_unit",
        staff_only=True,
        group=MANAGE,
        icon="tree",
    ),
    MenuItem(
        _("Categories"),
        "admin:taxonomy_category_changelist",
        perm="taxonomy.change_category",
        staff_only=True,
        group=MANAGE,
        icon="tags",
    ),
    MenuItem(
        _("Users"),
        "admin:accounts_user_changelist",
        perm="accounts.change_user",
        staff_only=True,
        group=MANAGE,
        icon="users",
    ),
    MenuItem(
        _("Assessment schemes"),
        "admin:reports_assessmentscheme_changelist",
        perm="reports.change_assessmentscheme",
        staff_only=True,
        group=MANAGE,
        icon="list",
    ),
    MenuItem(
        _("Audit log"),
        "admin:audit_auditevent_changelist",
        perm="audit.view_auditevent",
        staff_only=True,
        group=MANAGE,
        icon="log",
    ),
    MenuItem(_("API docs"), "api-docs", group=HELP, icon="doc"),
]


def menu_for(user: Any) -> list[MenuItem]:
    """The entries ``user`` may open whose address exists, in menu order (grouped by ``group``)."""
    return [item for item in MENU if item.visible_to(user) and item.url is not None]
