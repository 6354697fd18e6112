"""The switch process reads its configuration at start; after an administrator changes a queue,
a flow, a number, a membership, a seat, a pause reason, the centre settings, a phone account or a
trunk, it is told to read it again (``reload``, once the change has committed; the switch waits a
moment so that a burst of changes gives one reload)."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save

from hotline.core.events import switch_send
from hotline.telephony import models as telephony

from . import models

CONFIG_MODELS = (
    models.Queue,
    models.QueueMembership,
    models.IvrFlow,
    models.HotlineNumber,
    models.AgentProfile,
    models.Seat,
    models.PauseReason,
    models.EmergencyNumber,
    models.CentreSettings,
    telephony.PhoneAccount,  # the SIP switch's phones and trunks
    telephony.Trunk,
)


def configuration_changed(sender: Any, **kwargs: Any) -> None:
    if kwargs.get("raw"):  # fixtures being loaded
        return
    switch_send({"action": "reload"})


def connect() -> None:
    for model in CONFIG_MODELS:
        post_save.connect(
            configuration_changed, sender=model, dispatch_uid=f"switch-reload-save-{model.__name__}"
        )
        post_delete.connect(
            configuration_changed, sender=model, dispatch_uid=f"switch-reload-delete-{model.__name__}"
        )
