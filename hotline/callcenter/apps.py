from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CallCenterConfig(AppConfig):
    name = "hotline.callcenter"
    label = "callcenter"
    verbose_name = _("Contact centre")

    def ready(self) -> None:
        from . import signals

        signals.connect()
