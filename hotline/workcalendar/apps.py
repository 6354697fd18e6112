from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WorkCalendarConfig(AppConfig):
    name = "hotline.workcalendar"
    label = "workcalendar"
    verbose_name = _("Working calendar and deadlines")

    def ready(self) -> None:
        from . import checks, signals  # noqa: F401  (registers the system check and the cache hooks)
