"""Named states and choices of the contact centre. The values are the engine's (``records.py``)."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from . import records as r


class AgentState(models.TextChoices):
    """坐席状态."""

    LOGGED_OUT = r.AGENT_LOGGED_OUT, _("Logged out")  # 签出
    READY = r.AGENT_READY, _("Ready")  # 就绪/示闲
    RINGING = r.AGENT_RINGING, _("Ringing")  # 振铃
    TALKING = r.AGENT_TALKING, _("Talking")  # 通话
    HOLD = r.AGENT_HOLD, _("On hold")  # 保持
    WRAP_UP = r.AGENT_WRAP_UP, _("Wrap-up")  # 话后处理
    PAUSED = r.AGENT_PAUSED, _("Paused")  # 示忙/小休
    LOCKED = r.AGENT_LOCKED, _("Locked")  # 闭锁
    OFF_HOOK = r.AGENT_OFF_HOOK, _("Off hook")  # 摘机


class QueueEventKind(models.TextChoices):
    """队列事件."""

    ENTER = r.QE_ENTER, _("Entered the queue")
    OFFER = r.QE_OFFER, _("Offered to an agent")
    NO_ANSWER = r.QE_NO_ANSWER, _("Not answered by the agent")
    CONNECT = r.QE_CONNECT, _("Connected to an agent")
    ABANDON = r.QE_ABANDON, _("Abandoned")
    TRANSFER = r.QE_TRANSFER, _("Transferred")
    COMPLETE = r.QE_COMPLETE, _("Completed")
    OVERFLOW = r.QE_OVERFLOW, _("Overflowed")
    TIMEOUT = r.QE_TIMEOUT, _("Maximum wait reached")
    VOICEMAIL = r.QE_VOICEMAIL, _("Left for voicemail")
    CALLBACK = r.QE_CALLBACK, _("Accepted a callback")
    ALL_BUSY = r.QE_ALL_BUSY, _("All agents busy")
    AGENT_LOGIN = r.QE_AGENT_LOGIN, _("Agent logged in")
    AGENT_LOGOUT = r.QE_AGENT_LOGOUT, _("Agent logged out")
    AGENT_PAUSE = r.QE_AGENT_PAUSE, _("Agent paused")
    AGENT_UNPAUSE = r.QE_AGENT_UNPAUSE, _("Agent resumed")


class Outcome(models.TextChoices):
    """How a call ended (one per call detail record)."""

    ANSWERED = r.OUTCOME_ANSWERED, _("Answered")
    ABANDONED = r.OUTCOME_ABANDONED, _("Abandoned")
    IVR = r.OUTCOME_IVR, _("Ended in the IVR")
    VOICEMAIL = r.OUTCOME_VOICEMAIL, _("Voicemail")
    CALLBACK = r.OUTCOME_CALLBACK, _("Callback requested")
    REFUSED = r.OUTCOME_REFUSED, _("Refused (blacklist)")
    FAILED = r.OUTCOME_FAILED, _("Failed")
    OUTBOUND = r.OUTCOME_OUTBOUND, _("Outbound")


class Direction(models.TextChoices):
    INBOUND = "inbound", _("Inbound")  # 呼入
    OUTBOUND = "outbound", _("Outbound")  # 呼出


class Strategy(models.TextChoices):
    """排队策略 — how the ACD picks an agent among those eligible."""

    LONGEST_IDLE = "longest_idle", _("Longest idle")
    FEWEST_CALLS = "fewest_calls", _("Fewest calls")
    LEAST_TALK_TIME = "least_talk_time", _("Least talk time")
    ROUND_ROBIN = "round_robin", _("Round robin")
    RING_ALL = "ring_all", _("Ring all")
    TOP_DOWN = "top_down", _("Top down")


class MaxWaitAction(models.TextChoices):
    """What happens when a caller has waited ``max_wait_s``."""

    VOICEMAIL = "voicemail", _("Voicemail")
    CALLBACK = "callback", _("Offer a callback")
    OVERFLOW = "overflow", _("Overflow to another queue")
    HANGUP = "hangup", _("Hang up")


class ListKind(models.TextChoices):
    """名单."""

    BLACK = "black", _("Blacklist")  # 黑名单
    WHITE = "white", _("Whitelist")  # 白名单
    VIP = "vip", _("VIP list")  # 重点/VIP 名单


BLACKLIST_REFUSE = "refuse"


class VoicemailState(models.TextChoices):
    """留言 state: new → claimed → done."""

    NEW = "new", _("New")
    CLAIMED = "claimed", _("Claimed")
    DONE = "done", _("Done")


class CallbackState(models.TextChoices):
    """回拨 state: new → claimed → done (or failed after the attempts)."""

    NEW = "new", _("New")
    CLAIMED = "claimed", _("Claimed")
    DONE = "done", _("Done")
    FAILED = "failed", _("Could not reach")


class CallbackReason(models.TextChoices):
    ABANDONED = "abandoned", _("Abandoned call")  # 呼损回拨
    CALLBACK_OFFER = "callback_offer", _("Accepted a callback offer")
    VOICEMAIL = "voicemail", _("Voicemail")


class CallbackResult(models.TextChoices):
    REACHED = "reached", _("Reached the caller")
    NO_ANSWER = "no_answer", _("No answer")
    BUSY = "busy", _("Busy")
    WRONG_NUMBER = "wrong_number", _("Wrong number")


# Callback attempts after which an unreachable caller is given up (state ``failed``).
CALLBACK_MAX_ATTEMPTS = 3
OPEN_CALLBACK_STATES = frozenset({CallbackState.NEW, CallbackState.CLAIMED})
OPEN_VOICEMAIL_STATES = frozenset({VoicemailState.NEW, VoicemailState.CLAIMED})


class LegKind(models.TextChoices):
    CALLER = "caller", _("Caller")
    AGENT = "agent", _("Agent")
    OUTBOUND = "outbound", _("Outbound")
    CONSULT = "consult", _("Consultation")
    SUPERVISOR = "supervisor", _("Supervisor")


class CalendarPeriod(models.TextChoices):
    """The branches of a time condition node."""

    DAY = "day", _("Working hours")
    NIGHT = "night", _("Outside working hours")
    HOLIDAY = "holiday", _("Holiday")
