"""The demo city loaded by ``make run`` (``manage.py setup_demo``)."""

from __future__ import annotations

DEMO_PASSWORD = "Hotline#2026"  # noqa: S105 - published demo password, demo data only

# username, role, full name, unit code — one user per role.
DEMO_USERS = [
    ("agent_li", "agent", "李晓", "CENTRE"),
    ("supervisor_chen", "supervisor", "陈静", "CENTRE"),
    ("dispatcher_zhou", "dispatcher", "周敏", "CENTRE"),
    ("handler_wang", "handler", "王强", "ST-990101001"),
    ("manager_sun", "unit_manager", "孙丽", "ST-990101001"),
    ("leader_zhao", "leader", "赵刚", "DG-990101"),
    ("admin", "admin", "系统管理员", "CENTRE"),
]
