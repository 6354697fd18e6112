"""Telephony configuration and records (see docs/telephony.md).

Configuration: the prompts the IVR plays (a recording, or Chinese text read by the speech
synthesiser), the trunks calls arrive on and leave through, and each seat's phone account.
State: the phones' registrations (bindings with an expiry, kept in the database so a restarted
switch still reaches every phone). Records: the conversations' recordings.
"""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .sipstack import digest_ha1

prompt_name = RegexValidator(
    r"^[a-z0-9_]+$", _("Lower-case letters, digits and underscores only."), code="prompt_name"
)


class Prompt(models.Model):
    """语音提示 — one prompt the IVR can play by name (``welcome``, ``main_menu``, ``moh``…).

    An uploaded recording wins; otherwise ``text`` is read out by the speech synthesiser. Dynamic
    prompts (``digits:…``, ``position:…``, ``wait_minutes:…``, ``status:…``) are built from words."""

    name = models.CharField(_("name"), max_length=64, unique=True, validators=[prompt_name])
    text = models.TextField(_("text"), blank=True, help_text=_("Read out when there is no recording."))
    recording = models.FileField(_("recording"), upload_to="prompts/", blank=True)
    loop = models.BooleanField(_("music"), default=False, help_text=_("Played in a loop (music on hold)."))
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        verbose_name = _("prompt")
        verbose_name_plural = _("prompts")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Trunk(models.Model):
    """中继 — a carrier's SIP trunk or an E1 gateway.

    Inbound calls are accepted from the listed addresses, and/or after digest authentication with
    ``username``/``password``. Outbound calls go to ``outbound_host`` with ``caller_id``."""

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    inbound_addresses = models.TextField(
        _("inbound addresses"),
        blank=True,
        help_text=_("IP addresses or networks (CIDR) calls are accepted from, one per line."),
    )
    username = models.CharField(_("user name"), max_length=64, blank=True)
    password = models.CharField(_("password"), max_length=128, blank=True)
    outbound_host = models.CharField(_("outbound host"), max_length=255, blank=True)
    outbound_port = models.PositiveIntegerField(
        _("outbound port"), default=5060, validators=[MinValueValidator(1), MaxValueValidator(65535)]
    )
    caller_id = models.CharField(_("caller ID"), max_length=32, blank=True)
    dial_prefix = models.CharField(_("dial prefix"), max_length=16, blank=True)
    max_channels = models.PositiveIntegerField(_("maximum channels"), default=0, help_text=_("0: no limit"))
    outbound_default = models.BooleanField(_("default for outbound calls"), default=False)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("trunk")
        verbose_name_plural = _("trunks")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    def addresses(self) -> list[str]:
        lines = self.inbound_addresses.replace(",", "\n").splitlines()
        return [line.strip() for line in lines if line.strip()]


class PhoneAccount(models.Model):
    """话机账号 — the SIP account of a seat's phone: it registers as the seat's extension with a
    password, or has a fixed address (``static_contact``) and never registers."""

    seat = models.OneToOneField(
        "callcenter.Seat", verbose_name=_("seat"), on_delete=models.CASCADE, related_name="phone"
    )
    realm = models.CharField(_("realm"), max_length=64)
    ha1 = models.CharField(_("password digest"), max_length=32, blank=True)
    static_contact = models.CharField(
        _("fixed address"), max_length=255, blank=True, help_text=_("e.g. sip:1001@10.1.2.3:5060")
    )
    auto_answer = models.BooleanField(_("auto answer"), default=False)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("phone account")
        verbose_name_plural = _("phone accounts")
        ordering = ["seat__extension"]

    def __str__(self) -> str:
        return str(self.seat)

    def set_password(self, password: str) -> None:
        self.ha1 = digest_ha1(self.seat.extension, self.realm, password)


class Registration(models.Model):
    """One binding of an extension to where its phone can be reached, until ``expires_at``."""

    extension = models.CharField(_("extension"), max_length=16)
    contact = models.CharField(_("contact"), max_length=255)
    host = models.CharField(_("host"), max_length=64)
    port = models.PositiveIntegerField(_("port"))
    user_agent = models.CharField(_("user agent"), max_length=128, blank=True)
    registered_at = models.DateTimeField(_("registered at"))
    expires_at = models.DateTimeField(_("expires at"))

    class Meta:
        verbose_name = _("registration")
        verbose_name_plural = _("registrations")
        ordering = ["extension"]
        constraints = [models.UniqueConstraint(fields=["extension", "contact"], name="registration_binding")]
        indexes = [models.Index(fields=["extension", "expires_at"], name="registration_live")]

    def __str__(self) -> str:
        return f"{self.extension} {self.contact}"


class Recording(models.Model):
    """通话录音 — one recorded conversation as a stereo WAV (the caller on the left channel, the
    agent on the right) with its SHA-256, and what it is searched by."""

    call_id = models.CharField(_("call"), max_length=64, db_index=True)
    started_at = models.DateTimeField(_("started at"))
    ended_at = models.DateTimeField(_("ended at"))
    seconds = models.FloatField(_("length (s)"), default=0.0)
    path = models.CharField(_("file"), max_length=255)
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    size_bytes = models.PositiveBigIntegerField(_("size (bytes)"), default=0)
    caller = models.CharField(_("caller"), max_length=32)
    called = models.CharField(_("called"), max_length=32, blank=True)
    agent_id = models.IntegerField(_("agent"), null=True, blank=True)
    agent_name = models.CharField(_("agent name"), max_length=64, blank=True)
    trunk = models.CharField(_("trunk"), max_length=64, blank=True)
    queue = models.CharField(_("queue"), max_length=32, blank=True)
    order_number = models.CharField(_("order"), max_length=32, blank=True)
    purged_at = models.DateTimeField(_("purged at"), null=True, blank=True)

    class Meta:
        verbose_name = _("recording")
        verbose_name_plural = _("recordings")
        ordering = ["-started_at"]
        permissions = [("play_recording", "Can play call recordings")]
        constraints = [models.UniqueConstraint(fields=["call_id", "path"], name="recording_call_path")]
        indexes = [
            models.Index(fields=["started_at"], name="recording_started"),
            models.Index(fields=["caller", "started_at"], name="recording_caller"),
            models.Index(fields=["agent_id", "started_at"], name="recording_agent"),
            models.Index(fields=["order_number"], name="recording_order"),
        ]

    def __str__(self) -> str:
        return f"{self.call_id} {self.started_at:%Y-%m-%d %H:%M}"
