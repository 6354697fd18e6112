"""Writes of the reports app: assessment schemes and the monthly report's recipients (audited)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from hotline.audit.services import audited_delete, audited_save
from hotline.core.errors import ValidationFailed

from .models import AssessmentScheme, ReportRecipient
from .orders import MEASURES, RATES


def scheme_errors(weights: Any) -> dict[str, list[str]]:
    """What is wrong with a scheme's ``weights``: an object of rate names (``orders.RATES``) to
    weights of zero or more, at least one of them above zero."""
    if not isinstance(weights, dict) or not weights:
        return {"weights": [_('Give at least one rate and its weight, e.g. {"satisfaction_rate": 1}.')]}
    problems = []
    for name, weight in weights.items():
        if name not in RATES:
            known = "、".join(f"{rate} ({MEASURES[rate].label})" for rate in RATES)
            problems.append(
                _("%(name)s is not a rate; the rates are: %(known)s") % {"name": name, "known": known}
            )
        elif isinstance(weight, bool) or not isinstance(weight, int | float) or weight < 0:
            problems.append(_("The weight of %(name)s must be a number of zero or more.") % {"name": name})
    if not problems and not any(weights.values()):
        problems.append(_("At least one weight must be above zero."))
    return {"weights": problems} if problems else {}


@transaction.atomic
def scheme_save(*, actor: Any, scheme: AssessmentScheme) -> AssessmentScheme:
    """Create or change an assessment scheme (考核方案); refused with the weights' problems."""
    errors = scheme_errors(scheme.weights)
    if errors:
        raise ValidationFailed(_("The weights cannot be used."), fields=errors)
    scheme.updated_by = actor if getattr(actor, "is_authenticated", False) else None
    scheme.updated_at = timezone.now()
    audited_save(scheme, actor=actor)
    return scheme


def recipient_errors(recipient: ReportRecipient) -> dict[str, list[str]]:
    """A recipient is an account with an e-mail address, or an address."""
    if recipient.user_id is None and not recipient.email:
        return {"email": [_("Choose an account or give an e-mail address.")]}
    if recipient.user_id is not None and not recipient.email and not recipient.user.email:  # type: ignore[union-attr]
        return {"user": [_("This account has no e-mail address: give one here.")]}
    return {}


@transaction.atomic
def recipient_save(*, actor: Any, recipient: ReportRecipient) -> ReportRecipient:
    errors = recipient_errors(recipient)
    if errors:
        raise ValidationFailed(_("The recipient cannot be saved."), fields=errors)
    audited_save(recipient, actor=actor)
    return recipient


@transaction.atomic
def object_delete(*, obj: AssessmentScheme | ReportRecipient, actor: Any = None) -> None:
    audited_delete(obj, actor=actor)
