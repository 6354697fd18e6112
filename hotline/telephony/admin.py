"""Telephony in the admin: the IVR's prompts (recordings checked by content, text previewed as
pinyin, every prompt can be listened to as the caller will hear it), the trunks, the seats'
phone accounts, and the registrations and recordings read-only.

Saves and deletes are audited (``hotline.audit``) in one transaction, as the services of the
other apps do; passwords never reach the audit log, and neither does a phone account's digest
(HA1 is as good as the password to a SIP client). See docs/prompts.md.
"""

from __future__ import annotations

import ipaddress
import tempfile
from pathlib import Path
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Model, QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from hotline.audit.services import audited_delete, audited_save
from hotline.core.admin import ReadOnlyAdmin

from . import speech
from .defaults import DEFAULT_MUSIC, DEFAULT_PROMPTS, DYNAMIC_TEXTS, purpose
from .models import PhoneAccount, Prompt, Recording, Registration, Trunk
from .prompts import PromptLibrary, UnknownPrompt

MAX_RECORDING_BYTES = 20 * 1024 * 1024
# What sox reports (``sox --i -t``) for each kind of upload we accept, by the file's first bytes.
ACCEPTED = {".wav": "wav", ".mp3": "mp3", ".ogg": "vorbis"}
SECRET_FIELDS = ("password", "ha1")


def sniff(head: bytes) -> str:
    """The extension an audio file's first bytes point to: ``.wav``, ``.ogg``, ``.mp3`` or ""."""
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return ".wav"
    if head[:4] == b"OggS":
        return ".ogg"
    if head[:3] == b"ID3" or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return ".mp3"
    return ""


def audio_check(upload: UploadedFile) -> str:
    """The extension of an uploaded recording, checked by its content with ``sox --i``;
    raises ``forms.ValidationError`` with what is wrong."""
    if upload.size is not None and upload.size > MAX_RECORDING_BYTES:
        raise forms.ValidationError(
            _("The file is too large (at most %(mb)d MB).") % {"mb": MAX_RECORDING_BYTES // (1024 * 1024)},
            code="too_large",
        )
    upload.seek(0)
    suffix = sniff(upload.read(16))
    upload.seek(0)
    if not suffix:
        raise forms.ValidationError(_("This is not a WAV, MP3 or OGG audio file."), code="bad_type")
    if speech.missing_tools(speech.SOX):
        raise forms.ValidationError(
            _("Recordings cannot be checked: sox is not installed on the server."), code="no_sox"
        )
    with tempfile.NamedTemporaryFile(suffix=suffix) as copy:
        for chunk in upload.chunks():
            copy.write(chunk)
        copy.flush()
        upload.seek(0)
        try:
            kind = speech.run([speech.SOX, "--i", "-t", copy.name]).decode().strip()
            seconds = float(speech.run([speech.SOX, "--i", "-D", copy.name]).decode().strip() or 0)
        except (speech.SpeechUnavailable, ValueError):
            kind, seconds = "", 0.0
    if kind != ACCEPTED[suffix] or seconds <= 0:
        raise forms.ValidationError(
            _("The file could not be read as audio; save it again as WAV, MP3 or OGG."), code="bad_audio"
        )
    return suffix


def library() -> PromptLibrary:
    """A library that reads the prompt rows on every request (an edit is heard at once)."""
    return PromptLibrary(rows_ttl_s=0)


class AuditedAdmin(admin.ModelAdmin):
    """Saves and deletes in one transaction with an audit row; secrets stay out of the log."""

    def audited_save(self, request: HttpRequest, obj: Model, note: str = "") -> None:
        with transaction.atomic():
            audited_save(obj, note=note, actor=request.user, exclude=SECRET_FIELDS)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        self.audited_save(request, obj)

    def delete_model(self, request: HttpRequest, obj: Model) -> None:
        with transaction.atomic():
            audited_delete(obj, actor=request.user, exclude=SECRET_FIELDS)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        with transaction.atomic():
            for obj in queryset.order_by("pk"):
                audited_delete(obj, actor=request.user, exclude=SECRET_FIELDS)


# --- Prompts -------------------------------------------------------------------------------------


class PromptForm(forms.ModelForm):
    class Meta:
        model = Prompt
        fields = ("name", "text", "recording", "loop")
        widgets = {"text": forms.Textarea(attrs={"rows": 3, "cols": 80})}

    def clean_recording(self) -> Any:
        recording = self.cleaned_data.get("recording")
        if isinstance(recording, UploadedFile):
            suffix = audio_check(recording)
            # The stored name carries the real type: sox picks its MP3 reader by the extension.
            base = self.cleaned_data.get("name") or self.instance.name or "prompt"
            recording.name = f"{base}{suffix}"
        return recording

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        name = data.get("name") or ""
        text = (data.get("text") or "").strip()
        has_recording = bool(data.get("recording"))
        if name in DYNAMIC_TEXTS and text and "{n}" not in text and "{n}" in DYNAMIC_TEXTS[name]:
            self.add_error("text", _("This prompt is read with a number: write {n} where it goes."))
        elif text and not has_recording and not speech.tokens(text):
            self.add_error("text", _("There is nothing to read in this text."))
        builtin = name in DEFAULT_PROMPTS or name in DEFAULT_MUSIC or name in DYNAMIC_TEXTS
        if not (text or has_recording or data.get("loop") or builtin):
            self.add_error(None, _("Upload a recording or write the text to be read."))
        return data


@admin.register(Prompt)
class PromptAdmin(AuditedAdmin):
    form = PromptForm
    change_list_template = "admin/telephony/prompt/change_list.html"
    list_display = ("name", "purpose_display", "source", "loop", "updated_at", "listen_link")
    list_filter = ("loop",)
    search_fields = ("name", "text")
    readonly_fields = ("purpose_display", "builtin_text", "pinyin", "listen")
    fieldsets = (
        (None, {"fields": ("name", "purpose_display", "text", "pinyin", "recording", "loop")}),
        (gettext_lazy("As the caller hears it"), {"fields": ("builtin_text", "listen")}),
    )

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        initial = super().get_changeform_initial_data(request)
        name = str(initial.get("name") or "")
        if name and not initial.get("text"):
            initial["text"] = DEFAULT_PROMPTS.get(name) or DYNAMIC_TEXTS.get(name, "")
        return initial

    def save_model(self, request: HttpRequest, obj: Prompt, form: Any, change: bool) -> None:
        obj.updated_at = timezone.now()  # a new version: the audio is made again
        self.audited_save(request, obj)

    # --- columns and read-only fields

    @admin.display(description=gettext_lazy("purpose"))
    def purpose_display(self, obj: Prompt) -> str:
        return str(purpose(obj.name)) if obj.name else ""

    @admin.display(description=gettext_lazy("source"))
    def source(self, obj: Prompt) -> str:
        if obj.recording:
            return _("recording")
        if obj.loop:
            return _("built-in music")
        if obj.text.strip():
            return _("text")
        return _("built-in text")

    @admin.display(description=gettext_lazy("built-in text"))
    def builtin_text(self, obj: Prompt) -> str:
        return DEFAULT_PROMPTS.get(obj.name) or DYNAMIC_TEXTS.get(obj.name, "") or "—"

    @admin.display(description=gettext_lazy("pinyin"))
    def pinyin(self, obj: Prompt) -> str:
        text = obj.text.strip() or DEFAULT_PROMPTS.get(obj.name, "")
        return speech.to_pinyin(text) if text else "—"

    @admin.display(description=gettext_lazy("listen"))
    def listen_link(self, obj: Prompt) -> SafeString:
        return format_html('<a href="{}">{}</a>', self.listen_url(obj.name), _("listen"))

    @admin.display(description=gettext_lazy("listen"))
    def listen(self, obj: Prompt) -> SafeString | str:
        if not obj.pk:
            return _("Save the prompt to listen to it.")
        missing = speech.missing_tools()
        if missing:
            return _("Prompts cannot be played here: %(tools)s not installed on the server.") % {
                "tools": ", ".join(missing)
            }
        return format_html(
            '<audio controls preload="none" src="{}"></audio>', self.listen_url(obj.name, obj.updated_at)
        )

    # --- the listen view and the built-in prompts

    def listen_url(self, name: str, version: Any = None) -> str:
        url = reverse("admin:telephony_prompt_listen", args=[name])
        return f"{url}?v={version.timestamp():.0f}" if version is not None else url

    def get_urls(self) -> list[URLPattern]:
        listen = path(
            "listen/<str:name>/",
            self.admin_site.admin_view(self.listen_view),
            name="telephony_prompt_listen",
        )
        return [listen, *super().get_urls()]

    def listen_view(self, request: HttpRequest, name: str) -> HttpResponseBase:
        """The prompt ``name`` as the caller hears it (built-in, a row, or a dynamic form)."""
        if not self.has_view_permission(request):
            raise Http404
        try:
            audio: Path = library().file_for((name,), loop=name in DEFAULT_MUSIC)
        except UnknownPrompt as exc:
            raise Http404(_("There is no prompt of this name.")) from exc
        except speech.SpeechUnavailable as exc:
            return HttpResponse(str(exc), status=503, content_type="text/plain; charset=utf-8")
        response = FileResponse(audio.open("rb"), content_type="audio/wav")
        response["Content-Disposition"] = f'inline; filename="{name.replace(":", "-")}.wav"'
        response["Cache-Control"] = "private, max-age=60"
        return response

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        own = set(Prompt.objects.values_list("name", flat=True))
        names = [*DEFAULT_PROMPTS, *sorted(DEFAULT_MUSIC), *DYNAMIC_TEXTS]
        builtin = [
            {
                "name": name,
                "purpose": purpose(name),
                "text": DEFAULT_PROMPTS.get(name) or DYNAMIC_TEXTS.get(name) or _("built-in music"),
                "listen_url": self.listen_url(_example(name)),
                "add_url": f"{reverse('admin:telephony_prompt_add')}?name={name}"
                + ("&loop=on" if name in DEFAULT_MUSIC else ""),
            }
            for name in names
            if name not in own
        ]
        context = {
            "builtin_prompts": builtin,
            "speech_missing": ", ".join(speech.missing_tools()),
            **(extra_context or {}),
        }
        return super().changelist_view(request, context)


EXAMPLES = {"position": "position:3", "position_first": "position:1", "wait_minutes": "wait_minutes:2"}


def _example(name: str) -> str:
    """A dynamic prompt's template is heard with an example number."""
    return EXAMPLES.get(name, name)


# --- Trunks --------------------------------------------------------------------------------------


class TrunkForm(forms.ModelForm):
    password = forms.CharField(
        label=gettext_lazy("password"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=gettext_lazy("Leave empty to keep the current password."),
    )
    clear_password = forms.BooleanField(label=gettext_lazy("remove the password"), required=False)

    class Meta:
        model = Trunk
        fields = (
            "code",
            "name",
            "inbound_addresses",
            "username",
            "password",
            "outbound_host",
            "outbound_port",
            "caller_id",
            "dial_prefix",
            "max_channels",
            "outbound_default",
            "active",
        )

    def clean_password(self) -> str:
        password: str = self.cleaned_data.get("password") or ""
        return password or (self.instance.password if self.instance.pk else "")

    def clean_inbound_addresses(self) -> str:
        value: str = self.cleaned_data.get("inbound_addresses") or ""
        lines = [line.strip() for line in value.replace(",", "\n").splitlines() if line.strip()]
        bad = []
        for line in lines:
            try:
                ipaddress.ip_network(line, strict=False)
            except ValueError:
                bad.append(line)
        if bad:
            raise forms.ValidationError(
                _("Not an IP address or network: %(values)s") % {"values": ", ".join(bad)}, code="bad_address"
            )
        return "\n".join(lines)

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if data.get("clear_password"):
            data["password"] = ""
            self.instance.password = ""
        if data.get("outbound_default"):
            other = Trunk.objects.filter(outbound_default=True).exclude(pk=self.instance.pk).first()
            if other is not None:
                self.add_error(
                    "outbound_default",
                    _("Trunk %(code)s is already the default for outbound calls.") % {"code": other.code},
                )
        return data


@admin.register(Trunk)
class TrunkAdmin(AuditedAdmin):
    form = TrunkForm
    list_display = (
        "code",
        "name",
        "outbound_host",
        "caller_id",
        "max_channels",
        "outbound_default",
        "active",
    )
    list_filter = ("active", "outbound_default")
    search_fields = ("code", "name", "outbound_host", "caller_id")

    def save_model(self, request: HttpRequest, obj: Trunk, form: Any, change: bool) -> None:
        changed = "password" in form.changed_data and bool(form.data.get("password"))
        cleared = bool(form.cleaned_data.get("clear_password"))
        note = "password removed" if cleared else ("password changed" if changed else "")
        self.audited_save(request, obj, note=note)


# --- Phone accounts ------------------------------------------------------------------------------


class PhoneAccountForm(forms.ModelForm):
    password = forms.CharField(
        label=gettext_lazy("password"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=gettext_lazy("The phone's SIP password. Leave empty to keep the current one."),
    )

    class Meta:
        model = PhoneAccount
        fields = ("seat", "static_contact", "auto_answer", "active")

    def clean_password(self) -> str:
        password: str = self.cleaned_data.get("password") or ""
        if password and len(password) < 8:
            raise forms.ValidationError(_("At least 8 characters."), code="too_short")
        return password

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if self.errors:
            return data
        password = data.get("password")
        if password or data.get("static_contact"):
            return data
        instance = self.instance
        realm = settings.HOTLINE_SIP["realm"]
        if not instance.pk or not instance.ha1:
            self.add_error("password", _("A phone that registers needs a password."))
        elif "seat" in self.changed_data or instance.realm != realm:
            # HA1 digests the extension and the realm: it no longer matches either.
            self.add_error("password", _("The extension or the realm changed: enter the password again."))
        return data


@admin.register(PhoneAccount)
class PhoneAccountAdmin(AuditedAdmin):
    form = PhoneAccountForm
    list_display = ("seat", "extension", "realm", "has_password", "static_contact", "auto_answer", "active")
    list_filter = ("active", "auto_answer")
    search_fields = ("seat__extension", "seat__name", "static_contact")
    readonly_fields = ("realm_display",)
    fields = ("seat", "password", "realm_display", "static_contact", "auto_answer", "active")

    @admin.display(description=gettext_lazy("extension"), ordering="seat__extension")
    def extension(self, obj: PhoneAccount) -> str:
        return obj.seat.extension

    @admin.display(description=gettext_lazy("password set"), boolean=True)
    def has_password(self, obj: PhoneAccount) -> bool:
        return bool(obj.ha1)

    @admin.display(description=gettext_lazy("realm"))
    def realm_display(self, obj: PhoneAccount) -> str:
        return obj.realm or settings.HOTLINE_SIP["realm"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[PhoneAccount]:
        return super().get_queryset(request).select_related("seat")

    def save_model(self, request: HttpRequest, obj: PhoneAccount, form: Any, change: bool) -> None:
        password = form.cleaned_data.get("password") or ""
        if password:
            obj.realm = settings.HOTLINE_SIP["realm"]
            obj.set_password(password)
        elif not obj.realm:
            obj.realm = settings.HOTLINE_SIP["realm"]
        self.audited_save(request, obj, note="password changed" if password else "")


# --- Registrations and recordings (written by the switch) ----------------------------------------


class LiveFilter(admin.SimpleListFilter):
    title = gettext_lazy("binding")
    parameter_name = "live"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("yes", gettext_lazy("live")), ("no", gettext_lazy("expired"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        now = timezone.now()
        if self.value() == "yes":
            return queryset.filter(expires_at__gt=now)
        if self.value() == "no":
            return queryset.filter(expires_at__lte=now)
        return queryset


class PurgedFilter(admin.SimpleListFilter):
    title = gettext_lazy("file")
    parameter_name = "purged"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("no", gettext_lazy("kept")), ("yes", gettext_lazy("purged"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() in ("yes", "no"):
            return queryset.filter(purged_at__isnull=self.value() == "no")
        return queryset


@admin.register(Registration)
class RegistrationAdmin(ReadOnlyAdmin):
    list_display = (
        "extension",
        "contact",
        "host",
        "port",
        "user_agent",
        "registered_at",
        "expires_at",
        "live",
    )
    list_filter = (LiveFilter, "user_agent")
    search_fields = ("=extension", "contact", "=host")

    @admin.display(description=gettext_lazy("live"), boolean=True)
    def live(self, obj: Registration) -> bool:
        return obj.expires_at > timezone.now()


@admin.register(Recording)
class RecordingAdmin(ReadOnlyAdmin):
    list_display = (
        "started_at",
        "caller",
        "called",
        "agent_name",
        "queue",
        "trunk",
        "seconds",
        "order_number",
        "purged_at",
    )
    list_filter = (PurgedFilter, "queue", "trunk")
    search_fields = ("=call_id", "=caller", "=called", "=order_number", "agent_name")
    date_hierarchy = "started_at"
