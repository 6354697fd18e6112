from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    """The people who work in and with the hotline (citizens come with the portal)."""

    AGENT = "agent", _("Agent")  # 话务员/座席
    SUPERVISOR = "supervisor", _("Supervisor")  # 班长
    DISPATCHER = "dispatcher", _("Dispatcher / reviewer")  # 派单员/审核员
    HANDLER = "handler", _("Department handler")  # 承办人员
    UNIT_MANAGER = "unit_manager", _("Department manager")  # 单位负责人
    LEADER = "leader", _("Leader")  # 领导
    ADMIN = "admin", _("Administrator")  # 系统管理员


# Roles that work inside the hotline centre and see the whole city.
CENTRE_ROLES = frozenset({Role.AGENT, Role.SUPERVISOR, Role.DISPATCHER, Role.ADMIN})
# Roles whose view is limited to their own unit and its sub-units.
UNIT_ROLES = frozenset({Role.HANDLER, Role.UNIT_MANAGER})
# Roles whose view is limited to the region of their unit (a district leader sees the district).
REGION_ROLES = frozenset({Role.LEADER})
