"""Forms of the work-order screens: intake, the action forms of the loop, the order search.

The forms only collect and type the input; every rule of the loop stays in ``services.py``. A
``ServiceError`` raised there is put back on the form (``apply_service_error``) with its messages
in the user's language (``service_message``).
"""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from hotline.accounts.choices import Role
from hotline.accounts.models import User
from hotline.core.errors import ServiceError
from hotline.orgs.models import Region, Unit
from hotline.taxonomy.models import Category, RequestType
from hotline.workcalendar.choices import Urgency

from .choices import Channel, DeadlineLevel, OrderState, Result, RevisitMethod, Satisfaction, SupervisionKind

# --- Files ---------------------------------------------------------------------------------------


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input; the services check their type and size."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data if item]
        return [single(data, initial)] if data else []


# --- Codes of reference data (the pickers post codes) ---------------------------------------------


class CodeField(forms.CharField):
    """A code typed or picked in a search picker, cleaned to the object it names."""

    widget = forms.HiddenInput

    def __init__(self, model: type[Any], *args: Any, active_only: bool = True, **kwargs: Any) -> None:
        self.model = model
        self.active_only = active_only
        super().__init__(*args, **kwargs)

    def clean(self, value: Any) -> Any:
        code = super().clean(value)
        if not code:
            return None
        qs = self.model.objects.filter(code=code)
        if self.active_only:
            qs = qs.filter(active=True)
        obj = qs.first()
        if obj is None:
            raise ValidationError(_("Unknown or retired code %(code)s."), params={"code": code})
        return obj


class CodeListField(forms.Field):
    """Several codes (one hidden input each), cleaned to a list of units."""

    widget = forms.MultipleHiddenInput

    def clean(self, value: Any) -> list[Unit]:
        codes = [c.strip() for c in (value or []) if c and c.strip()]
        if not codes:
            return []
        units = {u.code: u for u in Unit.objects.filter(code__in=codes, active=True)}
        missing = [c for c in codes if c not in units]
        if missing:
            raise ValidationError(_("Unknown unit %(codes)s."), params={"codes": ", ".join(missing)})
        return [units[c] for c in codes]


def category_label(category: Category | None) -> str:
    """``code full / path`` of a category (its parents are expected select_related)."""
    if category is None:
        return ""
    return category.full_name


def region_label(region: Region | None) -> str:
    """The region with its parents, below the city: ``东区 / 东一街道``."""
    if region is None:
        return ""
    names = []
    node: Region | None = region
    while node is not None:
        names.append(node.name)
        node = node.parent
    if len(names) > 1:
        names.pop()  # the city is the same for every order
    return " / ".join(reversed(names))


def unit_label(unit: Unit | None) -> str:
    return unit.name if unit is not None else ""


# --- Intake --------------------------------------------------------------------------------------

SUBMIT_DISPATCH = "dispatch"
SUBMIT_CLOSE = "close"


class IntakeForm(forms.Form):
    """受理登记 — the fields in the order of a call: who calls, what about, where, how urgent."""

    channel = forms.ChoiceField(label=_("Channel"), choices=Channel.choices, initial=Channel.PHONE)
    citizen_phone = forms.CharField(label=_("Caller's phone"), max_length=32, required=False)
    citizen_name = forms.CharField(label=_("Name"), max_length=64, required=False)
    citizen_id_number = forms.CharField(label=_("ID number"), max_length=32, required=False)
    anonymous = forms.BooleanField(label=_("Anonymous to units"), required=False)
    confidential = forms.BooleanField(label=_("Confidential"), required=False)
    content = forms.CharField(label=_("What the caller says"), widget=forms.Textarea(attrs={"rows": 5}))
    title = forms.CharField(label=_("Title"), max_length=200)
    request_type = forms.ModelChoiceField(
        label=_("Request type"),
        queryset=RequestType.objects.none(),
        to_field_name="code",
        widget=forms.RadioSelect,
        empty_label=None,
        error_messages={"required": _("Choose the request type.")},
    )
    category = CodeField(Category, label=_("Category"), required=False)
    urgency = forms.ChoiceField(
        label=_("Urgency"), choices=Urgency.choices, initial=Urgency.NORMAL, widget=forms.RadioSelect
    )
    complex_case = forms.BooleanField(label=_("Complex case"), required=False)
    region = CodeField(Region, label=_("Street / community"), required=False)
    address = forms.CharField(label=_("Address"), max_length=300, required=False)
    attachments = MultipleFileField(label=_("Attachments"))
    direct_answer = forms.CharField(
        label=_("Answer given to the caller"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    submit = forms.ChoiceField(
        choices=[(SUBMIT_DISPATCH, SUBMIT_DISPATCH), (SUBMIT_CLOSE, SUBMIT_CLOSE)],
        required=False,
        widget=forms.HiddenInput,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["request_type"].queryset = RequestType.objects.filter(active=True).order_by(  # type: ignore[attr-defined]
            "sort_order", "code"
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("submit") == SUBMIT_CLOSE and not (data.get("direct_answer") or "").strip():
            self.add_error("direct_answer", _("Write the answer you gave, to close the order now."))
        return data

    @property
    def closing(self) -> bool:
        return (self.data.get("submit") or "") == SUBMIT_CLOSE

    def picked_label(self, name: str) -> str:
        """The label of the picked category or region (to show it again after an error)."""
        code = (self.data.get(name) or "") if self.is_bound else ""
        if not code:
            return ""
        if name == "category":
            category = Category.objects.select_related("parent__parent").filter(code=code).first()
            return category_label(category)
        region = Region.objects.select_related("parent__parent__parent").filter(code=code).first()
        return region_label(region)


# --- Action forms of the loop ----------------------------------------------------------------------


def style_widgets(form: forms.Form) -> None:
    """The screens' input classes on every visible widget."""
    plain = (
        forms.RadioSelect,
        forms.CheckboxInput,
        forms.HiddenInput,
        forms.MultipleHiddenInput,
        forms.FileInput,
    )
    for bound_field in form.fields.values():
        widget = bound_field.widget
        if isinstance(widget, plain):
            continue
        css = "wo-select" if isinstance(widget, forms.Select) else "wo-input"
        widget.attrs["class"] = f"{widget.attrs.get('class', '')} {css}".strip()


class ActionForm(forms.Form):
    """Every action form carries the state the user saw: acting on a page that is out of date is
    refused as a conflict, not applied to an order that has moved on."""

    seen = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(
        self,
        *args: Any,
        order: Any = None,
        user: Any = None,
        labels: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> None:
        self.order = order
        self.user = user
        self.labels = dict(labels or {})  # unit code → name, known to the caller already
        super().__init__(*args, **kwargs)
        if order is not None and not self.is_bound:
            self.fields["seen"].initial = order.state
        style_widgets(self)

    def _unit_names(self, codes: list[str]) -> dict[str, str]:
        missing = [c for c in codes if c and c not in self.labels]
        if missing:
            self.labels.update(Unit.objects.filter(code__in=missing).values_list("code", "name"))
        return self.labels

    @property
    def lead_pick(self) -> tuple[str, str]:
        """The picked lead unit (code, name), typed back after an error or suggested."""
        name = "lead_unit" if "lead_unit" in self.fields else "new_lead_unit"
        if name not in self.fields:
            return "", ""
        code = self[name].value() or ""
        return code, self._unit_names([code]).get(code, code) if code else ""

    @property
    def assist_pick(self) -> list[tuple[str, str]]:
        if "assist_units" not in self.fields:
            return []
        codes = [c for c in (self["assist_units"].value() or []) if c]
        names = self._unit_names(codes)
        return [(c, names.get(c, c)) for c in codes]


class SignForm(ActionForm):
    pass


class ReasonForm(ActionForm):
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3}), required=False)


class ReturnForm(ActionForm):
    reason = forms.CharField(
        label=_("Why the order is not for your unit"), widget=forms.Textarea(attrs={"rows": 3})
    )


class NoteForm(ActionForm):
    text = forms.CharField(label=_("Progress note"), widget=forms.Textarea(attrs={"rows": 3}))
    attachments = MultipleFileField(label=_("Attachments"))


class ExtensionRequestForm(ActionForm):
    working_days = forms.IntegerField(label=_("Working days"), min_value=1, max_value=60, initial=3)
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3}))


class AnswerForm(ActionForm):
    result = forms.ChoiceField(label=_("Result"), choices=Result.choices, widget=forms.RadioSelect)
    answer = forms.CharField(label=_("Answer to the citizen"), widget=forms.Textarea(attrs={"rows": 5}))
    attachments = MultipleFileField(label=_("Attachments"))


DECIDE_ACCEPT = "accept"
DECIDE_REFUSE = "refuse"
DECISIONS = [(DECIDE_ACCEPT, DECIDE_ACCEPT), (DECIDE_REFUSE, DECIDE_REFUSE)]


class DispatchForm(ActionForm):
    lead_unit = CodeField(Unit, label=_("Lead unit"), error_messages={"required": _("Choose the lead unit.")})
    assist_units = CodeListField(label=_("Assisting units"), required=False)
    note = forms.CharField(label=_("Note to the units"), max_length=500, required=False)


class ReturnDecisionForm(ActionForm):
    decision = forms.ChoiceField(choices=DECISIONS, widget=forms.HiddenInput)
    new_lead_unit = CodeField(Unit, label=_("New lead unit"), required=False)
    assist_units = CodeListField(label=_("Assisting units"), required=False)
    reason = forms.CharField(label=_("Reason"), max_length=2000, required=False)


class ExtensionDecisionForm(ActionForm):
    extension = forms.IntegerField(widget=forms.HiddenInput)
    decision = forms.ChoiceField(choices=DECISIONS, widget=forms.HiddenInput)
    note = forms.CharField(label=_("Note"), max_length=500, required=False)


class ReviewForm(ActionForm):
    decision = forms.ChoiceField(choices=DECISIONS, widget=forms.HiddenInput)
    reason = forms.CharField(label=_("What is missing"), max_length=2000, required=False)


RESOLVED_CHOICES = [("yes", _("Resolved")), ("no", _("Not resolved")), ("", _("Not asked"))]


class RevisitForm(ActionForm):
    method = forms.ChoiceField(label=_("Method"), choices=RevisitMethod.choices, initial=RevisitMethod.PHONE)
    resolved = forms.ChoiceField(
        label=_("Problem solved?"), choices=RESOLVED_CHOICES, required=False, widget=forms.RadioSelect
    )
    satisfaction = forms.ChoiceField(
        label=_("Satisfaction"), choices=Satisfaction.choices, required=False, widget=forms.RadioSelect
    )
    comment = forms.CharField(label=_("Comment"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    reopen = forms.BooleanField(
        label=_("Dispatch again when not resolved or unsatisfied"), required=False, initial=True
    )

    def resolved_value(self) -> bool | None:
        value = self.cleaned_data.get("resolved")
        return {"yes": True, "no": False}.get(value or "")


class OrderRefForm(ActionForm):
    """Merge into / link with another order, by its tracking number."""

    other = forms.CharField(label=_("Tracking number"), max_length=20)
    reason = forms.CharField(label=_("Reason"), max_length=2000, required=False)


class SuperviseForm(ActionForm):
    kind = forms.ChoiceField(
        label=_("Kind"),
        choices=SupervisionKind.choices,
        initial=SupervisionKind.SUPERVISE,
        widget=forms.RadioSelect,
    )
    message = forms.CharField(label=_("Message to the units"), widget=forms.Textarea(attrs={"rows": 3}))
    working_days = forms.IntegerField(
        label=_("Deadline (working days)"), min_value=1, max_value=30, required=False
    )
    escalate_to = forms.ModelChoiceField(
        label=_("Escalate to a leader"), queryset=User.objects.none(), required=False
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        leaders = User.objects.filter(role=Role.LEADER, is_active=True).select_related("unit")
        field = self.fields["escalate_to"]
        field.queryset = leaders.order_by("unit__path", "full_name")  # type: ignore[attr-defined]
        field.label_from_instance = lambda u: f"{u.display_name} · {u.unit.name if u.unit else ''}"  # type: ignore[attr-defined]
        field.empty_label = _("Nobody")  # type: ignore[attr-defined]


class InstructForm(ActionForm):
    text = forms.CharField(label=_("Instruction"), widget=forms.Textarea(attrs={"rows": 3}))


# --- Order search ---------------------------------------------------------------------------------

LEVEL_CHOICES = [("", _("Any"))] + [(str(v), label) for v, label in DeadlineLevel.choices]


class OrderFilterForm(forms.Form):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        style_widgets(self)

    q = forms.CharField(label=_("Title contains"), max_length=50, required=False)
    number = forms.CharField(label=_("Tracking number"), max_length=20, required=False)
    phone = forms.CharField(label=_("Phone"), max_length=32, required=False)
    state = forms.ChoiceField(label=_("State"), choices=[("", _("Any")), *OrderState.choices], required=False)
    channel = forms.ChoiceField(
        label=_("Channel"), choices=[("", _("Any")), *Channel.choices], required=False
    )
    unit = CodeField(Unit, label=_("Lead unit"), required=False, active_only=False)
    category = CodeField(Category, label=_("Category"), required=False, active_only=False)
    since = forms.DateField(
        label=_("Received from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label=_("Received to"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    deadline_level = forms.ChoiceField(label=_("Deadline"), choices=LEVEL_CHOICES, required=False)


# --- Service errors on forms ----------------------------------------------------------------------

# The services speak English; these are their messages in the user's language.
SERVICE_MESSAGES: dict[str, Any] = {
    "required": _("This field is required."),
    "A required field is empty.": _("A required field is empty."),
    "You do not have permission for this step.": _("You do not have permission for this step."),
    "Only the staff of the unit handling the order can do this.": _(
        "Only the staff of the unit handling the order can do this."
    ),
    "The order is not with your unit.": _("The order is not with your unit."),
    "Someone else changed the order first; reload it.": _("Someone else changed the order first."),
    "Some attachments were refused.": _("Some attachments were refused."),
    "The request is not complete.": _("The request is not complete."),
    "unknown channel": _("Unknown channel."),
    "unknown urgency": _("Unknown urgency."),
    "retired": _("This entry has been retired."),
    "retired: choose an active category": _("The category has been retired: choose an active one."),
    "the caller's number is needed for a phone request": _(
        "The caller's number is needed for a phone request (or tick anonymous)."
    ),
    "Only a new order can be answered at intake.": _("Only a new order can be answered at intake."),
    "The units are not valid.": _("The units are not valid."),
    "choose an active handling unit": _("Choose an active handling unit (not the hotline centre)."),
    "listed twice": _("A unit is listed twice."),
    "The order is finished.": _("The order is finished."),
    "Extensions are asked for while handling.": _("Extensions are asked for while handling."),
    "Too many days.": _("Too many days."),
    "An extension request is already waiting.": _("An extension request is already waiting."),
    "The request was already decided.": _("The request was already decided."),
    "Choose a result.": _("Choose a result."),
    "resolved, unresolved or explained": _("Choose resolved, not resolved or explained."),
    "Unknown revisit method.": _("Unknown revisit method."),
    "Record the citizen's satisfaction.": _("Record the citizen's satisfaction."),
    "An order cannot be linked to itself.": _("An order cannot be linked to itself."),
    "same order": _("Choose another order."),
    "Choose another main order.": _("Choose another main order."),
    "The main order has ended.": _("The main order has ended."),
    "Unknown kind.": _("Unknown kind."),
    "supervise or remind": _("Choose supervision notice or reminder."),
    "Escalate to a leader.": _("Escalate to a leader."),
    "not a leader": _("Not a leader."),
    "The order is outside your area.": _("The order is outside your area."),
    "say why the order is not for your unit": _("Say why the order is not for your unit."),
    "tell the unit why the order stays with them": _("Tell the unit why the order stays with them."),
    "tell the unit what is missing": _("Tell the unit what is missing."),
    "unknown": _("Unknown value."),
}
SERVICE_PATTERNS: list[tuple[re.Pattern[str], Any]] = [
    (re.compile(r"^(?P<name>.+): type (?P<type>.+) is not accepted$"), _("%(name)s: type not accepted")),
    (re.compile(r"^(?P<name>.+): larger than (?P<mb>\d+) MB$"), _("%(name)s: larger than %(mb)s MB")),
    (re.compile(r"^(?P<name>.+): the content is not (?P<type>.+)$"), _("%(name)s: content does not match")),
    (re.compile(r"^1 to (?P<n>\d+) more working days$"), _("At most %(n)s more working days.")),
    (re.compile(r"^not usable: (?P<codes>.+)$"), _("Not usable: %(codes)s")),
]


def service_message(message: str) -> str:
    """A service's message in the user's language (unknown ones as they are)."""
    known = SERVICE_MESSAGES.get(message)
    if known is not None:
        return str(known)
    for pattern, template in SERVICE_PATTERNS:
        match = pattern.match(message)
        if match:
            return str(template) % match.groupdict()
    return message


def apply_service_error(
    form: forms.Form, error: ServiceError, *, aliases: dict[str, str] | None = None
) -> None:
    """Put a service's refusal on ``form``: its message on top, its field messages on the fields
    (on top too when the form has no such field)."""
    aliases = aliases or {}
    form.add_error(None, service_message(error.message))
    for field, messages in error.fields.items():
        name = aliases.get(field, field)
        target = name if name in form.fields else None
        for message in messages:
            form.add_error(target, service_message(message))


def conflict_message(code: str) -> str:
    if code == "invalid_state":
        return gettext(
            "This step is no longer possible: the order has moved on. It now shows its current state."
        )
    if code == "state_changed":
        return gettext("Someone else acted on this order first. It now shows its current state.")
    return gettext("The order was changed meanwhile. It now shows its current state.")
