"""What each role may do: the permission matrix in one screen.

Permissions are Django permission strings (``app_label.codename``); the ``RoleBackend`` grants a
user the set of their role, so ``user.has_perm`` works in views, the API, templates and the admin.
*What* a user may touch is a second question, answered by their data scope (``scope.py``).
"""

from __future__ import annotations

from hotline.workcalendar.permissions import MANAGE_WORKCALENDAR, READ_WORKCALENDAR

from .choices import Role

READ_REFERENCE = (
    frozenset(
        {
            "orgs.view_region",
            "orgs.view_unit",
            "orgs.view_dutyassignment",
            "taxonomy.view_category",
            "taxonomy.view_requesttype",
        }
    )
    | READ_WORKCALENDAR
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

# Work orders (工单): what each side of the loop does. Which orders: the data scope.
ORDER_VIEW = frozenset({"workorders.view_workorder"})
ORDER_DESK = ORDER_VIEW | {"workorders.intake_workorder"}
ORDER_CENTRE = ORDER_DESK | {
    "workorders.dispatch_workorder",
    "workorders.review_workorder",
    "workorders.supervise_workorder",
}
ORDER_UNIT = ORDER_VIEW | {
    "workorders.handle_workorder",
    "workorders.contact_citizen",  # the citizen's phone on orders that are not anonymous (audited)
}
ORDER_LEADER = ORDER_VIEW | {"workorders.instruct_workorder", "workorders.supervise_workorder"}

# Contact centre (呼叫中心): agents take calls and work the voicemail and callback lists;
# supervisors (班长) watch and steer agents, read every record and statistic, keep the
# black/white/VIP lists and the skill levels; administrators configure queues, flows, numbers,
# seats and pause reasons.
CALLCENTER_AGENT = frozenset(
    {
        "callcenter.take_calls",
        "callcenter.view_own_stats",
        "callcenter.process_voicemail",
        "callcenter.process_callback",
        "callcenter.view_voicemail",
        "callcenter.view_callbackrequest",
        "callcenter.view_queue",
        "callcenter.view_pausereason",
        "callcenter.view_emergencynumber",
    }
)
CALLCENTER_CONFIG_READ = frozenset(
    f"callcenter.view_{model}"
    for model in (
        "queue", "queuemembership", "ivrflow", "hotlinenumber", "seat", "agentprofile",
        "pausereason", "emergencynumber", "centresettings", "listentry",
    )
)  # fmt: skip
CALLCENTER_SUPERVISOR = (
    CALLCENTER_AGENT
    | CALLCENTER_CONFIG_READ
    | {
        "callcenter.supervise_agents",
        "callcenter.view_all_stats",
        "callcenter.view_callrecord",
        "callcenter.view_callleg",
        "callcenter.view_agentstatelog",
        "callcenter.view_queueeventlog",
    }
    | {
        f"callcenter.{verb}_{model}"
        for verb in ("add", "change", "delete")
        for model in ("listentry", "queuemembership")
    }
)
# Prompts, trunks and phone accounts; registrations and recordings are read-only records.
TELEPHONY_ADMIN = {
    f"telephony.{verb}_{model}"
    for verb in ("view", "add", "change", "delete")
    for model in ("prompt", "trunk", "phoneaccount")
} | {"telephony.view_registration", "telephony.view_recording"}
# Call recordings (通话录音): searched and played by supervisors and administrators, every playback
# audited. Agents play voicemails only (``callcenter.process_voicemail``).
RECORDINGS = frozenset({"telephony.view_recording", "telephony.play_recording"})

CALLCENTER_ADMIN = CALLCENTER_CONFIG_READ | {
    f"callcenter.{verb}_{model}"
    for verb in ("add", "change", "delete")
    for model in (
        "queue", "queuemembership", "ivrflow", "hotlinenumber", "seat", "agentprofile",
        "pausereason", "emergencynumber", "centresettings",
    )
}  # fmt: skip

# Reports (统计报表) and the assessment (考核): leaders and the centre read them all; department
# managers see their own unit's figures (scope-checked); the scheme's weights are an admin setting.
REPORTS_READ = frozenset({"reports.view_reports", "reports.export_reports"})
REPORTS_LEADER = REPORTS_READ | {"reports.view_dashboard", "reports.view_assessment"}
REPORTS_ADMIN = REPORTS_LEADER | {
    f"reports.{verb}_{model}"
    for verb in ("view", "add", "change", "delete")
    for model in ("assessmentscheme", "reportrecipient")
}

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    Role.AGENT: READ_REFERENCE | CITIZEN_DESK | ORDER_DESK | CALLCENTER_AGENT,
    Role.SUPERVISOR: READ_REFERENCE
    | CITIZEN_DESK
    | ORDER_DESK
    | CALLCENTER_SUPERVISOR
    | RECORDINGS
    | REPORTS_LEADER
    | {"accounts.view_user", "workorders.supervise_workorder"},
    # Dispatchers and revisit staff sit at seats: they call citizens back from the revisit queue.
    Role.DISPATCHER: READ_REFERENCE
    | CITIZEN_DESK
    | ORDER_CENTRE
    | REPORTS_READ
    | {"accounts.view_user", "callcenter.take_calls"},
    Role.HANDLER: READ_REFERENCE | ORDER_UNIT,
    # A department manager manages the accounts of their own unit (scope-checked).
    Role.UNIT_MANAGER: READ_REFERENCE
    | MANAGE_USERS
    | ORDER_UNIT
    | REPORTS_READ
    | {"reports.view_assessment"},
    Role.LEADER: READ_REFERENCE
    | ORDER_LEADER
    | REPORTS_LEADER
    | {"accounts.view_user", "citizens.view_citizen", "callcenter.view_all_stats"},
    Role.ADMIN: READ_REFERENCE
    | ORDER_VIEW
    | MANAGE_ORGS
    | MANAGE_TAXONOMY
    | MANAGE_WORKCALENDAR
    | MANAGE_USERS
    | CALLCENTER_ADMIN
    | TELEPHONY_ADMIN
    | RECORDINGS
    | REPORTS_ADMIN
    | {"citizens.view_citizen", "audit.view_auditevent", "accounts.view_apitoken"},
}


def permissions_for(role: str) -> frozenset[str]:
    return ROLE_PERMISSIONS.get(role, frozenset())
