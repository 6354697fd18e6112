"""The built-in prompts: the Chinese text read out for every prompt name the engine and the demo
flow use, until an administrator records or rewrites it (a ``Prompt`` row of the same name).

The texts are what the caller hears, so they are Chinese whatever language the screens use; the
purposes (shown in the admin) go through gettext. Numbers are written as digits and read by
``speech.normalise`` (12345 → 幺二三四五, 1 → 一 after 按). See docs/prompts.md.
"""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

# Spoken texts by prompt name.
DEFAULT_PROMPTS: dict[str, str] = {
    # The demo flow (hotline/callcenter/demo.py) and docs/callcenter.md
    "welcome": "您好，欢迎致电12345政务服务便民热线。为了保证服务质量，您的通话可能会被录音。",
    "main_menu": (
        "咨询、投诉、求助、建议，请按1；查询工单办理进度，请按2；企业服务，请按3；"
        "留言，请按9；人工服务，请按0。"
    ),
    "invalid": "您的输入有误，请重新输入。",
    "enter_number": "请输入您的工单编号，以井号键结束。",
    "leave_message": "请您留言，说明您的姓名、联系电话和需要反映的问题。留言结束后请挂机。",
    "night_service": "现在是非工作时间，12345热线全天为您服务，部分事项将在工作时间内办理。",
    "closed": "现在是非工作时间，请在工作日上午8:30至下午5:30来电，或按提示留言。",
    "goodbye": "感谢您的来电，再见。",
    # The order-status node (the directory answers status:<state>; status_unknown: no such order)
    "status_unknown": "没有查到这个工单编号，请核对后再试。",
    "status_pending_dispatch": "您查询的工单已受理，正在派发给承办单位。",
    "status_pending_sign": "您查询的工单已派发，正在等待承办单位签收。",
    "status_return_requested": "您查询的工单正在重新确定承办单位，请耐心等待。",
    "status_handling": "您查询的工单正在办理中，承办单位将按时限答复，请耐心等待。",
    "status_pending_review": "您查询的工单承办单位已经答复，热线正在审核办理结果。",
    "status_pending_revisit": "您查询的工单已经办理完毕，我们将回访您，了解您对办理结果的意见。",
    "status_closed": "您查询的工单已经办结，感谢您对我们工作的支持。",
    "status_cancelled": "您查询的工单已经撤销。",
    "status_merged": "您查询的工单已与同一事项的其他工单合并办理。",
    "status_other": "您查询的工单已受理，请耐心等待办理结果。",
    # Waiting in a queue (engine: max wait → callback, voicemail or goodbye)
    "callback_offer": "目前话务员都在忙。如需稍后给您回电，请按1；继续等待，请不要挂机。",
    "callback_confirmed": "已为您登记回电，我们会尽快与您联系。感谢您的来电，再见。",
    "all_busy_goodbye": "很抱歉，目前话务员都在忙，请您稍后再拨。再见。",
    "all_busy": "目前话务员都在忙，请您耐心等待。",
    "transferring": "正在为您转接，请稍候。",
    # The satisfaction survey after the call (answers as revisit: satisfied, basically, unsatisfied)
    "rate_service": "请您对本次服务进行评价：满意，请按1；基本满意，请按2；不满意，请按3。",
    "survey_thanks": "感谢您的评价，再见。",
}

# Texts of the dynamic prompts; ``{n}`` is the number. A ``Prompt`` row of the same name with a
# text that contains ``{n}`` replaces one.
DYNAMIC_TEXTS: dict[str, str] = {
    "position": "您前面还有{n}位来电，请耐心等待。",
    "position_first": "您是下一位，请稍候。",
    "wait_minutes": "预计等待时间约{n}分钟。",
}

# Names played as music on hold (a recording if uploaded, else the built-in tune).
DEFAULT_MUSIC = frozenset({"moh"})

PURPOSES: dict[str, Promise] = {
    "welcome": _("Greeting when a call is answered"),
    "main_menu": _("Main menu"),
    "invalid": _("A key that the menu does not offer"),
    "enter_number": _("Asks for a tracking number"),
    "leave_message": _("Before a voicemail is recorded"),
    "night_service": _("Outside working hours, before the menu"),
    "closed": _("Outside working hours"),
    "goodbye": _("Before the call ends"),
    "status_unknown": _("No order with the keyed tracking number"),
    "status_pending_dispatch": _("Order state: waiting for dispatch"),
    "status_pending_sign": _("Order state: waiting for signature"),
    "status_return_requested": _("Order state: return under arbitration"),
    "status_handling": _("Order state: being handled"),
    "status_pending_review": _("Order state: answer under review"),
    "status_pending_revisit": _("Order state: waiting for revisit"),
    "status_closed": _("Order state: closed"),
    "status_cancelled": _("Order state: cancelled"),
    "status_merged": _("Order state: merged"),
    "status_other": _("Order state without a prompt of its own"),
    "callback_offer": _("Maximum wait reached: offers a callback (key 1)"),
    "callback_confirmed": _("The callback is registered; the call ends"),
    "all_busy_goodbye": _("Maximum wait reached: the call ends"),
    "all_busy": _("All agents are busy"),
    "transferring": _("Before a transfer"),
    "rate_service": _("Satisfaction survey question"),
    "survey_thanks": _("After the survey answer"),
    "position": _("Queue position; {n} is the number of callers ahead"),
    "position_first": _("Queue position when the caller is next"),
    "wait_minutes": _("Expected wait; {n} is the number of minutes"),
    "moh": _("Music on hold"),
}


def purpose(name: str) -> Promise | str:
    """What a built-in prompt is for, for the admin; empty for a name of the centre's own."""
    return PURPOSES.get(name, "")
