from django.db import models
from django.utils.translation import gettext_lazy as _


class CalendarDayKind(models.TextChoices):
    """What an administrator's override makes of a date."""

    WORKDAY = "workday", _("Working day")
    HOLIDAY = "holiday", _("Day off")


class DeadlineStep(models.TextChoices):
    """The steps of a work order that run against a deadline."""

    SIGN = "sign", _("Sign for")  # 签收
    ANSWER = "answer", _("Complete and answer")  # 办结/答复
    REVIEW = "review", _("Review")  # 审核
    REVISIT = "revisit", _("Revisit")  # 回访
    EXTENSION_MAX = "extension_max", _("Extension limit")  # 延期上限
    SUPERVISE = "supervise", _("Supervision")  # 督办


class Urgency(models.TextChoices):
    NORMAL = "normal", _("Normal")  # 一般
    URGENT = "urgent", _("Urgent")  # 紧急
    EMERGENCY = "emergency", _("Emergency (danger to life or property)")  # 特急


class DurationMeasure(models.TextChoices):
    WORKING_HOURS = "working_hours", _("Working hours")
    WORKING_DAYS = "working_days", _("Working days")
    CALENDAR_HOURS = "calendar_hours", _("Calendar hours")


class YearStatus(models.TextChoices):
    """Where the holidays of a year come from."""

    OFFICIAL = "official", _("Official holidays")
    FALLBACK = "fallback", _("Monday to Friday (holidays not loaded)")


class DeadlineAlert(models.TextChoices):
    """How far a step has run through its time: early warnings at 70% and 90%, then overdue."""

    ON_TIME = "on_time", _("On time")
    WARNING = "warning", _("Early warning (70%)")
    CRITICAL = "critical", _("Final warning (90%)")
    OVERDUE = "overdue", _("Overdue")
