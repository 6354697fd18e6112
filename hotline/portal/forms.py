"""The portal's forms: submit a request, track it, rate the answer.

The submission form carries two traps for scripts: a field people never see (a honeypot) and the
signed moment it was served (a form sent back within a few seconds was not filled in by a person).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from hotline.core.errors import ServiceError
from hotline.orgs.models import Region
from hotline.taxonomy.models import Category, RequestType
from hotline.workorders.choices import Channel, Satisfaction
from hotline.workorders.services import ATTACHMENT_MAX_BYTES, Intake

from . import selectors, tokens

MAX_PHOTOS = 5
# Photo types the portal takes, with their file-name endings and first bytes.
PHOTO_TYPES: dict[str, tuple[tuple[str, ...], tuple[bytes, ...]]] = {
    "image/jpeg": ((".jpg", ".jpeg"), (b"\xff\xd8\xff",)),
    "image/png": ((".png",), (b"\x89PNG\r\n\x1a\n",)),
    "image/webp": ((".webp",), (b"RIFF",)),
}

phone_validator = RegexValidator(
    r"^\+?\d{7,15}$", _("Enter a phone number of 7 to 15 digits, such as 13812345678.")
)
number_validator = RegexValidator(r"^\d{6,20}$", _("A tracking number is made of digits only."))


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files under one name (the camera button and the album button both post "photos")."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[UploadedFile]:
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data if item]
        return [single(data, initial)] if data else []


def _is_photo(upload: UploadedFile) -> bool:
    ctype = (upload.content_type or "").split(";")[0].strip().lower()
    if ctype not in PHOTO_TYPES:
        return False
    endings, magics = PHOTO_TYPES[ctype]
    if not (upload.name or "").lower().endswith(endings):
        return False
    upload.seek(0)
    head = upload.read(12)
    upload.seek(0)
    if ctype == "image/webp" and head[8:12] != b"WEBP":
        return False
    return head.startswith(magics)


def _attachment_names(messages: Sequence[str]) -> str:
    """The file names in the service's attachment errors ("name.png: larger than 20 MB")."""
    names = [m.rsplit(": ", 1)[0] for m in messages if ": " in m]
    return "、".join(names)


class SubmitForm(forms.Form):
    request_type = forms.ModelChoiceField(
        label=_("Type of request"),
        queryset=RequestType.objects.filter(active=True).order_by("sort_order", "code"),
        widget=forms.RadioSelect,
        empty_label=None,
        error_messages={"required": _("Choose the type of your request.")},
    )
    category_group = forms.ChoiceField(label=_("Main category"), required=False)
    category = forms.ChoiceField(label=_("Sub-category"), required=False)
    region = forms.ChoiceField(label=_("District and street"), required=False)
    address = forms.CharField(
        label=_("Exact place"),
        max_length=300,
        required=False,
        widget=forms.TextInput(
            attrs={"placeholder": _("e.g. east gate of No. 12 Jianshe Road"), "autocomplete": "off"}
        ),
    )
    title = forms.CharField(
        label=_("Subject"),
        max_length=60,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. Street light broken at the estate gate")}),
        error_messages={"required": _("Say in a few words what it is about.")},
    )
    content = forms.CharField(
        label=_("Details"),
        max_length=2000,
        widget=forms.Textarea(
            attrs={
                "rows": 6,
                "placeholder": _("When and where, what happened, and what you would like done."),
            }
        ),
        error_messages={"required": _("Describe what happened and what you would like done.")},
    )
    citizen_name = forms.CharField(
        label=_("Your name"),
        max_length=64,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    citizen_phone = forms.CharField(
        label=_("Mobile phone"),
        max_length=32,
        widget=forms.TextInput(attrs={"type": "tel", "inputmode": "tel", "autocomplete": "tel"}),
        error_messages={"required": _("Leave a phone number: with it you can track your request.")},
    )
    anonymous = forms.BooleanField(
        label=_("Do not show my identity to the handling department"), required=False
    )
    photos = MultipleFileField(label=_("Photos"), required=False)
    # Traps for scripts: a field hidden from people, and the signed moment the form was served.
    website = forms.CharField(required=False)
    started = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.groups = selectors.category_groups()
        self.children = selectors.category_children()
        self.regions = selectors.region_groups()
        cast(forms.ChoiceField, self.fields["category_group"]).choices = [
            ("", _("Not sure")),
            *((str(g.pk), g.name) for g in self.groups),
        ]
        cast(forms.ChoiceField, self.fields["category"]).choices = [
            ("", _("Not sure")),
            *((str(c.pk), label) for nodes in self.children.values() for c, label in nodes),
        ]
        cast(forms.ChoiceField, self.fields["region"]).choices = [
            ("", _("Not sure")),
            *((str(r.pk), r.name) for d, streets in self.regions for r in [d, *streets]),
        ]

    # --- What the template draws -------------------------------------------------------------------

    def category_tree(self) -> list[tuple[Category, list[tuple[Category, str]]]]:
        return [(g, self.children[g.pk]) for g in self.groups if g.pk in self.children]

    def clock(self) -> str:
        """The form clock to send with the page: the one posted while it is still valid (the time
        spent correcting counts), else a new one."""
        posted = self.data.get("started", "") if self.is_bound else ""
        if posted and tokens.form_age(posted) is not None:
            return str(posted)
        return tokens.form_clock()

    # --- Cleaning ---------------------------------------------------------------------------------

    def clean_citizen_phone(self) -> str:
        phone = selectors.normalize_phone(self.cleaned_data["citizen_phone"])
        phone_validator(phone)
        return phone

    def clean_photos(self) -> list[UploadedFile]:
        photos: list[UploadedFile] = self.cleaned_data.get("photos") or []
        if len(photos) > MAX_PHOTOS:
            raise ValidationError(
                _("At most %(count)d photos."), params={"count": MAX_PHOTOS}, code="too_many"
            )
        refused = [p.name or "?" for p in photos if not _is_photo(p)]
        if refused:
            raise ValidationError(
                _("Not a JPEG, PNG or WebP photo: %(names)s."),
                params={"names": "、".join(refused)},
                code="not_a_photo",
            )
        return photos

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if data.get("website"):
            raise ValidationError(
                _("Your request could not be sent. Please try again later, or call 12345."), code="refused"
            )
        age = tokens.form_age(data.get("started", ""))
        if age is None:
            raise ValidationError(
                _("This page has expired. Check what you entered and send it again."), code="expired"
            )
        if age < tokens.min_fill_seconds():
            raise ValidationError(
                _("The form was sent too quickly. Check what you entered and send it again."), code="too_fast"
            )
        group = self._category(data.get("category_group"), level=1)
        sub = self._category(data.get("category"), level=None)
        if sub is not None and group is not None and selectors.category_root_id(sub) != group.pk:
            self.add_error("category", _("Choose a sub-category of the main category above, or “Not sure”."))
        data["final_category"] = sub or group
        data["final_region"] = self._region(data.get("region"))
        return data

    @staticmethod
    def _category(value: Any, *, level: int | None) -> Category | None:
        if not value:
            return None
        qs = Category.objects.filter(pk=int(value), active=True)
        return (qs.filter(level=level) if level else qs).first()

    @staticmethod
    def _region(value: Any) -> Region | None:
        if not value:
            return None
        return selectors.selectable_regions().get(int(value))

    def intake(self) -> Intake:
        data = self.cleaned_data
        return Intake(
            channel=Channel.WEB,
            request_type=data["request_type"],
            title=data["title"],
            content=data["content"],
            citizen_name=data["citizen_name"],
            citizen_phone=data["citizen_phone"],
            anonymous=data["anonymous"],
            address=data["address"],
            region=data["final_region"],
            category=data["final_category"],
        )

    def add_service_error(self, error: ServiceError) -> None:
        """Show a refusal from ``order_submit_by_citizen`` next to the fields it names."""
        messages = {
            "request_type": _("This type of request is not accepted any more; choose another."),
            "category": _("This category is no longer in use; choose another or “Not sure”."),
            "citizen_phone": _("Leave a phone number: with it you can track your request."),
            "title": _("Say in a few words what it is about."),
            "content": _("Describe what happened and what you would like done."),
        }
        for field, details in error.fields.items():
            if field == "attachments":
                self.add_error(
                    "photos",
                    _(
                        "These photos were refused: %(names)s. Each must be a real JPEG, PNG or WebP "
                        "image of at most %(mb)d MB."
                    )
                    % {
                        "names": _attachment_names(details) or "?",
                        "mb": ATTACHMENT_MAX_BYTES // (1024 * 1024),
                    },
                )
            elif field in messages:
                self.add_error(field if field != "category" else "category_group", messages[field])
            else:
                self.add_error(None, _("Your request could not be sent. Please check it and try again."))
        if not error.fields:
            self.add_error(None, _("Your request could not be sent. Please check it and try again."))


class TrackForm(forms.Form):
    number = forms.CharField(
        label=pgettext_lazy("citizen", "Tracking number"),
        max_length=20,
        widget=forms.TextInput(
            attrs={
                "inputmode": "numeric",
                "autocomplete": "off",
                "placeholder": _("13 digits, e.g. 2026112100123"),
            }
        ),
        validators=[number_validator],
        error_messages={"required": _("Enter the tracking number you were given.")},
    )
    phone = forms.CharField(
        label=_("Phone number"),
        max_length=32,
        widget=forms.TextInput(attrs={"type": "tel", "inputmode": "tel", "autocomplete": "tel"}),
        error_messages={"required": _("Enter the phone number you left with the request.")},
    )


RESOLVED_CHOICES = [("yes", _("Solved")), ("no", _("Not solved"))]
SATISFACTION_CHOICES = [
    (Satisfaction.SATISFIED.value, _("Satisfied")),
    (Satisfaction.BASICALLY.value, _("Basically satisfied")),
    (Satisfaction.UNSATISFIED.value, _("Unsatisfied")),
]


class RateForm(forms.Form):
    token = forms.CharField(widget=forms.HiddenInput)
    resolved = forms.ChoiceField(
        label=_("Was your problem solved?"),
        choices=RESOLVED_CHOICES,
        widget=forms.RadioSelect,
        error_messages={"required": _("Tell us whether the problem was solved.")},
    )
    satisfaction = forms.ChoiceField(
        label=_("How satisfied are you with the handling?"),
        choices=SATISFACTION_CHOICES,
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose how satisfied you are.")},
    )
    comment = forms.CharField(
        label=_("Anything to add?"), max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
