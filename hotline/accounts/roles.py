"""What each role may do: the permission matrix in one screen.

Permissions are Django permission strings (``app_label.codename``); the ``RoleBackend`` grants a
user the set of their role, so ``user.has_perm`` works in views, the API, templates and the admin.
*What* a user may touch is a second question, answered by their data scope (``scope.py``).
"""

from __future__ import annotations

from .choices import Role

READ_REFERENCE = frozenset(
    {
        "orgs.view_region",
        "orgs.view_unit",
        "orgs.view_dutyassignment",
        "taxonomy.view_category",
        "taxonomy.view_requesttype",
    }
)
CITIZEN_DESK = frozenset(
    {
        "citizens.view_citizen",
        "citizens.view_personal_data",  # unmasked phone and ID number; every read is audited
        "citizens.add_citizen",
        "citizens.change_citizen",
    }
)
MANAGE_ORGS = frozenset(
    {
        f"orgs.{verb}_{model}"
        for verb in ("add", "change", "delete")
        for model in ("region", "unit", "dutyassignment")
    }
    | {"orgs.import_orgdata", "orgs.export_orgdata"}
)
MANAGE_TAXONOMY = frozenset(
    {
        "taxonomy.add_category",
        "taxonomy.change_category",
        "taxonomy.add_requesttype",
        "taxonomy.change_requesttype",
        "taxonomy.import_taxonomy",
    }
)
MANAGE_USERS = frozenset({"accounts.view_user", "accounts.add_user", "accounts.change_user"})

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    Role.AGENT: READ_REFERENCE | CITIZEN_DESK,
    Role.SUPERVISOR: READ_REFERENCE | CITIZEN_DESK | {"accounts.view_user"},
    Role.DISPATCHER: READ_REFERENCE | CITIZEN_DESK | {"accounts.view_user"},
    Role.HANDLER: READ_REFERENCE,
    # A department manager manages the accounts of their own unit (scope-checked).
    Role.UNIT_MANAGER: READ_REFERENCE | MANAGE_USERS,
    Role.LEADER: READ_REFERENCE | {"accounts.view_user", "citizens.view_citizen"},
    Role.ADMIN: READ_REFERENCE
    | MANAGE_ORGS
    | MANAGE_TAXONOMY
    | MANAGE_USERS
    | {"citizens.view_citizen", "audit.view_auditevent", "accounts.view_apitoken"},
}


def permissions_for(role: str) -> frozenset[str]:
    return ROLE_PERMISSIONS.get(role, frozenset())
