"""The telephony admin: every page opens; prompt recordings are checked by content and can be
listened to; the text is previewed as pinyin; passwords are written, never shown back, and a
phone account's password sets the digest (HA1) for the configured realm."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from conftest import require_service
from hotline.audit.models import AuditAction, AuditEvent
from hotline.callcenter.models import Seat
from hotline.telephony import admin as telephony_admin
from hotline.telephony import speech
from hotline.telephony.defaults import DEFAULT_PROMPTS
from hotline.telephony.models import PhoneAccount, Prompt, Recording, Registration, Trunk, digest_ha1
from hotline.telephony.tests.test_speech import require_speech_tools

pytestmark = pytest.mark.django_db
MODELS = ("prompt", "trunk", "phoneaccount", "registration", "recording")


@pytest.fixture(autouse=True)
def prompt_dir(settings: Any, tmp_path: Path) -> Path:
    settings.HOTLINE_PROMPT_DIR = tmp_path / "prompts"
    return settings.HOTLINE_PROMPT_DIR


@pytest.fixture
def admin_client(people: Any) -> Client:
    # Administrator Ma: the role grants the telephony models (accounts/roles.py)
    assert not people.ma.is_superuser
    client = Client()
    client.cookies["django_language"] = "en"
    client.force_login(people.ma)
    return client


@pytest.fixture
def rows() -> dict[str, Any]:
    now = timezone.now()
    seat = Seat.objects.create(extension="8001", name="A区01座")
    return {
        "prompt": Prompt.objects.create(name="welcome", text="您好，欢迎致电12345热线。"),
        "trunk": Trunk.objects.create(
            code="CT", name="电信中继", username="hotline", password="Carrier-Secret-9"
        ),
        "phoneaccount": PhoneAccount.objects.create(seat=seat, realm="hotline", ha1="0" * 32),
        "registration": Registration.objects.create(
            extension="8001",
            contact="sip:8001@10.0.0.5:5060",
            host="10.0.0.5",
            port=5060,
            registered_at=now,
            expires_at=now + timedelta(minutes=5),
        ),
        "recording": Recording.objects.create(
            call_id="c1",
            started_at=now,
            ended_at=now,
            path="2026/11/21/c1.wav",
            sha256="0" * 64,
            caller="13800138000",
        ),
    }


def wav_bytes(tmp_path: Path, seconds: float = 1.0, suffix: str = ".wav") -> bytes:
    path = tmp_path / f"upload{suffix}"
    speech.run([speech.SOX, "-n", "-r", "16000", "-c", "1", str(path), "synth", str(seconds), "sine", "440"])
    return path.read_bytes()


def form_errors(response: Any) -> str:
    assert response.status_code == 200, response.status_code
    form = response.context["adminform"].form
    return " ".join(str(e) for errors in form.errors.values() for e in errors)


# --- Every page ----------------------------------------------------------------------------------


@pytest.mark.parametrize("model", MODELS)
def test_every_page_opens(admin_client: Client, rows: dict[str, Any], model: str) -> None:
    assert admin_client.get(reverse(f"admin:telephony_{model}_changelist")).status_code == 200
    change = admin_client.get(reverse(f"admin:telephony_{model}_change", args=[rows[model].pk]))
    assert change.status_code == 200
    add = admin_client.get(reverse(f"admin:telephony_{model}_add"))
    assert add.status_code == (403 if model in ("registration", "recording") else 200)


def test_registrations_and_recordings_are_read_only_and_filtered(
    admin_client: Client, rows: dict[str, Any]
) -> None:
    Registration.objects.create(
        extension="8002",
        contact="sip:8002@10.0.0.6:5060",
        host="10.0.0.6",
        port=5060,
        registered_at=timezone.now() - timedelta(hours=2),
        expires_at=timezone.now() - timedelta(hours=1),
    )
    listing = admin_client.get(reverse("admin:telephony_registration_changelist"), {"live": "yes"})
    assert "sip:8001@10.0.0.5" in listing.content.decode()
    assert "sip:8002@10.0.0.6" not in listing.content.decode()
    expired = admin_client.get(reverse("admin:telephony_registration_changelist"), {"live": "no"})
    assert "sip:8002@10.0.0.6" in expired.content.decode()

    url = reverse("admin:telephony_recording_change", args=[rows["recording"].pk])
    assert admin_client.post(url, {"caller": "110"}).status_code == 403
    kept = admin_client.get(reverse("admin:telephony_recording_changelist"), {"purged": "no"})
    assert "13800138000" in kept.content.decode()
    purged = admin_client.get(reverse("admin:telephony_recording_changelist"), {"purged": "yes"})
    assert "13800138000" not in purged.content.decode()


def test_an_agent_cannot_open_the_telephony_admin(people: Any, rows: dict[str, Any]) -> None:
    client = Client()
    client.force_login(people.li)
    listen = client.get(reverse("admin:telephony_prompt_listen", args=["welcome"]))
    assert listen.status_code == 302 and "/login/" in listen["Location"]
    assert client.get(reverse("admin:telephony_trunk_changelist")).status_code == 302


# --- Prompts -------------------------------------------------------------------------------------


def test_the_prompt_list_shows_the_built_in_prompts(admin_client: Client, rows: dict[str, Any]) -> None:
    page = admin_client.get(reverse("admin:telephony_prompt_changelist")).content.decode()
    assert DEFAULT_PROMPTS["main_menu"] in page  # built in, not replaced
    assert reverse("admin:telephony_prompt_listen", args=["main_menu"]) in page
    assert reverse("admin:telephony_prompt_listen", args=["position:3"]) in page
    assert reverse("admin:telephony_prompt_listen", args=["moh"]) in page
    assert DEFAULT_PROMPTS["welcome"] not in page  # replaced by the row
    assert f"{reverse('admin:telephony_prompt_add')}?name=goodbye" in page


def test_the_add_form_starts_from_the_built_in_text(admin_client: Client) -> None:
    page = admin_client.get(reverse("admin:telephony_prompt_add"), {"name": "goodbye"}).content.decode()
    assert DEFAULT_PROMPTS["goodbye"] in page


def test_the_change_page_previews_pinyin_and_plays_the_prompt(
    admin_client: Client, rows: dict[str, Any]
) -> None:
    page = admin_client.get(
        reverse("admin:telephony_prompt_change", args=[rows["prompt"].pk])
    ).content.decode()
    assert "nin2 hao3, huan1 ying2 zhi4 dian4 yao1 er4 san1 si4 wu3 re4 xian4" in page
    assert DEFAULT_PROMPTS["welcome"] in page  # the built-in text it replaces
    if not speech.missing_tools():
        assert "<audio controls" in page
        assert reverse("admin:telephony_prompt_listen", args=["welcome"]) in page


@pytest.mark.parametrize("name", ["welcome", "main_menu", "position:3", "moh"])
def test_listen_returns_the_audio_the_caller_hears(
    admin_client: Client, rows: dict[str, Any], name: str
) -> None:
    require_speech_tools()
    response = admin_client.get(reverse("admin:telephony_prompt_listen", args=[name]))
    assert response.status_code == 200
    assert response["Content-Type"] == "audio/wav"
    body = b"".join(response.streaming_content)  # type: ignore[attr-defined]
    assert body[:4] == b"RIFF" and body[8:12] == b"WAVE"
    assert len(body) > 8000  # at least half a second at 8 kHz, 16-bit


def test_listen_to_an_unknown_prompt_is_not_found(admin_client: Client) -> None:
    assert admin_client.get(reverse("admin:telephony_prompt_listen", args=["no_such"])).status_code == 404


def test_saving_a_text_is_audited_and_makes_new_audio(admin_client: Client, rows: dict[str, Any]) -> None:
    require_speech_tools()
    prompt = rows["prompt"]
    before = prompt.updated_at
    old = telephony_admin.library().file_for(("welcome",))
    response = admin_client.post(
        reverse("admin:telephony_prompt_change", args=[prompt.pk]),
        {"name": "welcome", "text": "您好，这里是12345热线，请讲。", "loop": ""},
    )
    assert response.status_code == 302, form_errors(response)
    prompt.refresh_from_db()
    assert prompt.updated_at > before
    assert telephony_admin.library().file_for(("welcome",)) != old
    event = AuditEvent.objects.get(object_type="telephony.prompt", action=AuditAction.UPDATE)
    assert event.actor_name == "ma" and event.after["text"] == "您好，这里是12345热线，请讲。"


def test_an_uploaded_recording_is_stored_by_its_real_type_and_played(
    admin_client: Client, tmp_path: Path
) -> None:
    require_speech_tools()
    speech.run(
        [speech.SOX, "-n", "-r", "16000", "-c", "1", str(tmp_path / "a.mp3"), "synth", "2", "sine", "440"]
    )
    upload = SimpleUploadedFile("greeting.wav", (tmp_path / "a.mp3").read_bytes())  # an MP3 called .wav
    response = admin_client.post(
        reverse("admin:telephony_prompt_add"), {"name": "welcome", "text": "", "recording": upload}
    )
    assert response.status_code == 302, form_errors(response)
    prompt = Prompt.objects.get(name="welcome")
    assert prompt.recording.name.endswith(".mp3")
    audio = telephony_admin.library().file_for(("welcome",))
    assert speech.run([speech.SOX, "--i", "-r", str(audio)]).strip() == b"8000"
    assert 1.9 < float(speech.run([speech.SOX, "--i", "-D", str(audio)])) < 2.2


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"this is not audio at all", "not a WAV, MP3 or OGG"),
        (b"RIFF\x00\x00\x00\x00WAVEfmt broken header", "could not be read as audio"),
        (b"OggS" + b"\x00" * 200, "could not be read as audio"),
    ],
)
def test_a_bad_upload_gets_a_form_error(admin_client: Client, content: bytes, message: str) -> None:
    require_service(not speech.missing_tools(speech.SOX), "sox")
    upload = SimpleUploadedFile("welcome.wav", content)
    response = admin_client.post(
        reverse("admin:telephony_prompt_add"), {"name": "welcome", "recording": upload}
    )
    assert message in form_errors(response)
    assert not Prompt.objects.exists()


def test_a_too_large_upload_gets_a_form_error(
    admin_client: Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    require_service(not speech.missing_tools(speech.SOX), "sox")
    content = wav_bytes(tmp_path, 1.0)
    monkeypatch.setattr(telephony_admin, "MAX_RECORDING_BYTES", len(content) - 1)
    upload = SimpleUploadedFile("welcome.wav", content)
    response = admin_client.post(
        reverse("admin:telephony_prompt_add"), {"name": "welcome", "recording": upload}
    )
    assert "too large" in form_errors(response)


def test_a_prompt_needs_something_to_play(admin_client: Client) -> None:
    response = admin_client.post(reverse("admin:telephony_prompt_add"), {"name": "policy_info", "text": ""})
    assert "Upload a recording or write the text" in form_errors(response)
    response = admin_client.post(
        reverse("admin:telephony_prompt_add"), {"name": "policy_info", "text": "，。"}
    )
    assert "nothing to read" in form_errors(response)
    response = admin_client.post(
        reverse("admin:telephony_prompt_add"), {"name": "position", "text": "请稍候。"}
    )
    assert "{n}" in form_errors(response)
    response = admin_client.post(reverse("admin:telephony_prompt_add"), {"name": "Bad Name", "text": "你好"})
    assert "Lower-case letters" in form_errors(response)
    # a built-in name may be saved empty: the built-in text is read
    response = admin_client.post(reverse("admin:telephony_prompt_add"), {"name": "goodbye", "text": ""})
    assert response.status_code == 302


# --- Trunks --------------------------------------------------------------------------------------


def trunk_data(**changes: Any) -> dict[str, Any]:
    data = {
        "code": "CT",
        "name": "电信中继",
        "inbound_addresses": "203.0.113.10\n198.51.100.0/24",
        "username": "hotline",
        "password": "",
        "outbound_host": "sbc.example.net",
        "outbound_port": "5060",
        "caller_id": "12345",
        "dial_prefix": "",
        "max_channels": "60",
        "active": "on",
    }
    return {**data, **changes}


def test_a_trunk_password_is_never_shown_and_kept_when_left_empty(
    admin_client: Client, rows: dict[str, Any]
) -> None:
    trunk = rows["trunk"]
    url = reverse("admin:telephony_trunk_change", args=[trunk.pk])
    assert "Carrier-Secret-9" not in admin_client.get(url).content.decode()
    assert (
        "Carrier-Secret-9"
        not in admin_client.get(reverse("admin:telephony_trunk_changelist")).content.decode()
    )

    response = admin_client.post(url, trunk_data())
    assert response.status_code == 302, form_errors(response)
    trunk.refresh_from_db()
    assert trunk.password == "Carrier-Secret-9"
    assert trunk.addresses() == ["203.0.113.10", "198.51.100.0/24"]

    response = admin_client.post(url, trunk_data(password="New-Secret-10"))
    assert response.status_code == 302, form_errors(response)
    trunk.refresh_from_db()
    assert trunk.password == "New-Secret-10"
    events = AuditEvent.objects.filter(object_type="telephony.trunk")
    assert events.filter(note="password changed").count() == 1
    assert all("password" not in (e.before or {}) and "password" not in (e.after or {}) for e in events)
    assert "New-Secret-10" not in str(list(events.values("before", "after", "note")))

    response = admin_client.post(url, trunk_data(clear_password="on"))
    assert response.status_code == 302, form_errors(response)
    trunk.refresh_from_db()
    assert trunk.password == ""


def test_a_trunk_with_a_bad_address_or_a_second_default_is_refused(
    admin_client: Client, rows: dict[str, Any]
) -> None:
    url = reverse("admin:telephony_trunk_add")
    response = admin_client.post(url, trunk_data(code="CM", inbound_addresses="10.0.0.1\nnot-an-ip"))
    assert "not-an-ip" in form_errors(response)
    Trunk.objects.filter(pk=rows["trunk"].pk).update(outbound_default=True)
    response = admin_client.post(url, trunk_data(code="CM", outbound_default="on"))
    assert "already the default" in form_errors(response)


# --- Phone accounts ------------------------------------------------------------------------------


def test_the_phone_password_sets_ha1_with_the_configured_realm(
    admin_client: Client, settings: Any, people: Any
) -> None:
    settings.HOTLINE_SIP = {**settings.HOTLINE_SIP, "realm": "12345.example.gov.cn"}
    seat = Seat.objects.create(extension="8002", name="A区02座")
    response = admin_client.post(
        reverse("admin:telephony_phoneaccount_add"),
        {"seat": seat.pk, "password": "Phone-Pass-8002", "static_contact": "", "active": "on"},
    )
    assert response.status_code == 302, form_errors(response)
    account = PhoneAccount.objects.get(seat=seat)
    assert account.realm == "12345.example.gov.cn"
    assert account.ha1 == digest_ha1("8002", "12345.example.gov.cn", "Phone-Pass-8002")

    page = admin_client.get(
        reverse("admin:telephony_phoneaccount_change", args=[account.pk])
    ).content.decode()
    assert account.ha1 not in page and "Phone-Pass-8002" not in page
    listing = admin_client.get(reverse("admin:telephony_phoneaccount_changelist")).content.decode()
    assert account.ha1 not in listing
    event = AuditEvent.objects.get(object_type="telephony.phoneaccount", action=AuditAction.CREATE)
    assert "ha1" not in event.after and event.note == "password changed"

    # left empty: the digest stays
    response = admin_client.post(
        reverse("admin:telephony_phoneaccount_change", args=[account.pk]),
        {"seat": seat.pk, "password": "", "static_contact": "", "auto_answer": "on", "active": "on"},
    )
    assert response.status_code == 302, form_errors(response)
    account.refresh_from_db()
    assert account.auto_answer and account.ha1 == digest_ha1(
        "8002", "12345.example.gov.cn", "Phone-Pass-8002"
    )


def test_a_phone_account_without_a_usable_password_is_refused(
    admin_client: Client, rows: dict[str, Any], settings: Any
) -> None:
    seat = Seat.objects.create(extension="8003")
    add = reverse("admin:telephony_phoneaccount_add")
    assert "needs a password" in form_errors(admin_client.post(add, {"seat": seat.pk, "active": "on"}))
    assert "At least 8" in form_errors(admin_client.post(add, {"seat": seat.pk, "password": "short"}))
    # a phone at a fixed address never registers: no password needed
    response = admin_client.post(add, {"seat": seat.pk, "static_contact": "sip:8003@10.1.2.3:5060"})
    assert response.status_code == 302, form_errors(response)

    # the digest covers the extension: moving the account to another seat needs the password again
    account = rows["phoneaccount"]
    other = Seat.objects.create(extension="8004")
    change = reverse("admin:telephony_phoneaccount_change", args=[account.pk])
    assert "enter the password again" in form_errors(
        admin_client.post(change, {"seat": other.pk, "active": "on"})
    )
    # and so does a new realm in the settings
    settings.HOTLINE_SIP = {**settings.HOTLINE_SIP, "realm": "new-realm"}
    assert "enter the password again" in form_errors(
        admin_client.post(change, {"seat": account.seat.pk, "active": "on"})
    )


def test_deleting_a_prompt_is_audited_and_brings_the_built_in_text_back(
    admin_client: Client, rows: dict[str, Any]
) -> None:
    prompt = rows["prompt"]
    response = admin_client.post(reverse("admin:telephony_prompt_delete", args=[prompt.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not Prompt.objects.exists()
    event = AuditEvent.objects.get(object_type="telephony.prompt", action=AuditAction.DELETE)
    assert event.before["text"] == "您好，欢迎致电12345热线。" and event.before["recording"] == ""
    assert telephony_admin.library().text_of("welcome") == DEFAULT_PROMPTS["welcome"]
