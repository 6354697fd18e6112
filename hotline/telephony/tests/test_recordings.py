"""Call recordings: stored for the switch, joined to their call record and order, searched, played
with HTTP Range by permitted roles only (one audit row per playback), purged after the retention
time; voicemail audio on the desk."""

from __future__ import annotations

import hashlib
import io
import wave
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from hotline.audit.models import AuditEvent
from hotline.callcenter import records as r
from hotline.callcenter.choices import Direction, Outcome, VoicemailState
from hotline.callcenter.models import CallRecord, Voicemail
from hotline.callcenter.recorder import DjangoRecorder
from hotline.telephony.models import Recording
from hotline.telephony.recordings import (
    ByteRange,
    RangeNotSatisfiable,
    RecordingPathError,
    byte_range,
    recording_file,
    recording_store,
    recording_verify,
    recordings_attach_calls,
    recordings_purge,
)
from hotline.telephony.tasks import recordings_purge_task
from hotline.workorders.tests import conftest as order_fixtures

tree = order_fixtures.tree
take = order_fixtures.take

pytestmark = pytest.mark.django_db

BACKEND = "hotline.accounts.backends.RoleBackend"
T0 = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


def wav_bytes(seconds: float = 0.5, rate: int = 8000) -> bytes:
    """A stereo 16-bit WAV: a rising ramp on the left, silence on the right."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(rate)
        frames = bytearray()
        for i in range(int(seconds * rate)):
            frames += ((i * 37) % 20000 - 10000).to_bytes(2, "little", signed=True) + b"\x00\x00"
        w.writeframes(bytes(frames))
    return buffer.getvalue()


@pytest.fixture(autouse=True)
def recording_dir(settings: Any, tmp_path: Path) -> Path:
    settings.HOTLINE_RECORDING_DIR = tmp_path / "recordings"
    settings.HOTLINE_RECORDING_DIR.mkdir()
    cache.clear()  # playback windows and checksum marks
    return Path(settings.HOTLINE_RECORDING_DIR)


def write_wav(base: Path, relative: str, data: bytes | None = None) -> tuple[str, bytes]:
    """The WAV and its ``.sha256`` as the switch leaves them; returns (sha256, bytes)."""
    content = data if data is not None else wav_bytes()
    target = base / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(content)
    digest = hashlib.sha256(content).hexdigest()
    target.with_name(target.name + ".sha256").write_text(f"{digest}  {target.name}\n")
    return digest, content


def store(base: Path, call_id: str = "call-1", **changes: Any) -> Recording:
    relative = changes.pop("path", f"2026/11/21/{call_id}.wav")
    digest, content = write_wav(base, relative)
    fields: dict[str, Any] = {
        "call_id": call_id,
        "path": relative,
        "sha256": digest,
        "seconds": 0.5,
        "size_bytes": len(content),
        "started_at": T0,
        "ended_at": T0 + timedelta(minutes=3),
        "caller": "13812345678",
        "called": "12345",
        "trunk": "CT-1",
    }
    fields.update(changes)
    return recording_store(**fields)


def call_record(call_id: str, agent: Any, **changes: Any) -> CallRecord:
    fields: dict[str, Any] = {
        "call_id": call_id,
        "direction": Direction.INBOUND,
        "caller": "13812345678",
        "called": "12345",
        "trunk": "CT-1",
        "started_at": T0,
        "ended_at": T0 + timedelta(minutes=3),
        "outcome": Outcome.ANSWERED,
        "queue": "GENERAL",
        "agent_id": agent.pk if agent is not None else None,
        "answered_at": T0 + timedelta(seconds=20),
    }
    fields.update(changes)
    return CallRecord.objects.create(**fields)


def as_user(user: Any) -> Client:
    client = Client()
    client.force_login(user, backend=BACKEND)
    return client


def audio_url(recording: Recording) -> str:
    return reverse("telephony:recording_audio", args=[recording.pk])


def playbacks(obj: Any, note: str = "playback") -> int:
    return AuditEvent.objects.filter(
        object_type=obj._meta.label_lower, object_id=str(obj.pk), action="read", note=note
    ).count()


def body(response: Any) -> bytes:
    return b"".join(response.streaming_content)


# --- Paths -----------------------------------------------------------------------------------------


def test_recording_file_resolves_inside_the_directory_and_refuses_escapes(recording_dir: Path) -> None:
    assert recording_file("2026/11/21/a.wav") == (recording_dir / "2026/11/21/a.wav").resolve()
    for bad in ("", "../secret.wav", "2026/../../x.wav", "/etc/passwd", "a\\..\\b.wav", ".", "a\x00.wav"):
        with pytest.raises(RecordingPathError):
            recording_file(bad)
    outside = recording_dir.parent / "outside.wav"
    outside.write_bytes(b"x")
    (recording_dir / "link.wav").symlink_to(outside)
    with pytest.raises(RecordingPathError):
        recording_file("link.wav")


# --- Storing -------------------------------------------------------------------------------------


def test_store_is_idempotent_on_call_and_path(people: Any, recording_dir: Path) -> None:
    first = store(recording_dir)
    again = store(recording_dir, seconds=99.0)
    assert again.pk == first.pk
    assert Recording.objects.count() == 1
    assert Recording.objects.get().seconds == 0.5
    other = store(recording_dir, path="2026/11/21/call-1-part2.wav")
    assert other.pk != first.pk
    assert Recording.objects.filter(call_id="call-1").count() == 2


def test_store_refuses_a_bad_path_or_checksum(recording_dir: Path) -> None:
    with pytest.raises(RecordingPathError):
        store(recording_dir, path="../../etc/x.wav")
    from hotline.core.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as exc:
        store(recording_dir, sha256="not-a-digest")
    assert "sha256" in exc.value.fields
    assert Recording.objects.count() == 0


def test_store_takes_agent_and_queue_from_the_call_record(people: Any, recording_dir: Path) -> None:
    call_record("call-1", people.li)
    recording = store(recording_dir)
    assert (recording.agent_id, recording.agent_name, recording.queue) == (people.li.pk, "李晓", "GENERAL")


def test_recorder_attaches_recordings_stored_before_their_call_record(
    people: Any, recording_dir: Path
) -> None:
    recording = store(recording_dir, call_id="early")
    untouched = store(recording_dir, call_id="other")
    assert recording.agent_id is None and recording.queue == ""
    recorder = DjangoRecorder(batch_size=1000, max_delay_s=3600, abandoned_callbacks=False)
    recorder.call(
        r.CallRecord(
            call_id="early", direction="inbound", caller="13812345678", called="12345", trunk="CT-1",
            started_at=T0, ended_at=T0 + timedelta(minutes=2), outcome=r.OUTCOME_ANSWERED,
            queue="COMPLAINT", agent_id=people.li.pk, answered_at=T0 + timedelta(seconds=5),
        )
    )  # fmt: skip
    recorder.flush()
    recording.refresh_from_db()
    untouched.refresh_from_db()
    assert (recording.agent_id, recording.agent_name, recording.queue) == (people.li.pk, "李晓", "COMPLAINT")
    assert untouched.agent_id is None
    assert recordings_attach_calls(["early", "other"]) == 0  # nothing left to fill


def test_attach_never_fails_the_recorder(people: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import hotline.telephony.recordings as recordings

    def broken(call_ids: Any) -> int:
        raise RuntimeError("database hiccup")

    monkeypatch.setattr(recordings, "recordings_attach_calls", broken)
    recorder = DjangoRecorder(batch_size=1000, max_delay_s=3600, abandoned_callbacks=False)
    recorder.call(
        r.CallRecord(
            call_id="c", direction="inbound", caller="1381", called="12345", trunk="",
            started_at=T0, ended_at=T0, outcome=r.OUTCOME_IVR,
        )
    )  # fmt: skip
    assert recorder.flush() == 1
    assert CallRecord.objects.filter(call_id="c").exists()


def test_linking_an_order_fills_the_recordings_order(people: Any, take: Any, recording_dir: Path) -> None:
    from hotline.callcenter.services import call_order_link

    recording = store(recording_dir, call_id="call-9")
    order = take()
    second = take(title="另一件事")
    call_order_link(actor=people.li, call_id="call-9", order=order)
    call_order_link(actor=people.li, call_id="call-9", order=second)
    recording.refresh_from_db()
    assert recording.order_number == order.number  # the first order stays on the row
    # an order linked before the recording is stored is picked up by the store
    later = store(recording_dir, call_id="call-9", path="2026/11/21/call-9-b.wav")
    assert later.order_number == order.number
    # every linked order finds the recordings
    client = as_user(people.chen)
    for number in (order.number, second.number):
        found = client.get("/api/v1/telephony/recordings", {"order": number}).json()
        assert sorted(i["id"] for i in found["items"]) == sorted([recording.pk, later.pk])


# --- Search ----------------------------------------------------------------------------------------


@pytest.fixture
def library(people: Any, recording_dir: Path) -> dict[str, Recording]:
    call_record("a", people.li)
    call_record("b", people.chen, queue="COMPLAINT")
    return {
        "a": store(recording_dir, call_id="a", caller="13800000001", trunk="CT-1"),
        "b": store(recording_dir, call_id="b", caller="13800000002", trunk="CU-2",
                   started_at=T0 + timedelta(hours=2)),
        "c": store(recording_dir, call_id="c", caller="13800000003", called="13900000009", trunk="CT-1",
                   started_at=T0 + timedelta(days=1)),
    }  # fmt: skip


def ids(response: Any) -> list[int]:
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["items"]]


def test_api_search_filters(people: Any, library: dict[str, Recording]) -> None:
    client = as_user(people.chen)
    url = "/api/v1/telephony/recordings"
    a, b, c = library["a"].pk, library["b"].pk, library["c"].pk
    assert ids(client.get(url)) == [c, b, a]
    assert ids(client.get(url, {"number": "13800000002"})) == [b]
    assert ids(client.get(url, {"number": "13900000009"})) == [c]
    assert ids(client.get(url, {"called": "12345"})) == [b, a]
    assert ids(client.get(url, {"caller": "13800000001"})) == [a]
    assert ids(client.get(url, {"trunk": "CT-1"})) == [c, a]
    assert ids(client.get(url, {"queue": "COMPLAINT"})) == [b]
    assert ids(client.get(url, {"agent": "li"})) == [a]
    # a time without an offset is Beijing time: 10:00–12:00 local on the 21st is a only
    assert ids(client.get(url, {"since": "2026-11-21T10:00", "until": "2026-11-21T12:00"})) == [a]
    assert ids(client.get(url, {"since": "2026-11-21T02:00:00Z", "until": "2026-11-21T04:00:01Z"})) == [b, a]
    page = client.get(url, {"limit": 2, "offset": 2}).json()
    assert page["count"] == 3 and [i["id"] for i in page["items"]] == [a]
    detail = client.get(f"{url}/{a}").json()
    assert detail["caller"] == "13800000001"  # supervisors see numbers, and that read is audited
    assert detail["audio_url"] == audio_url(library["a"])
    assert detail["agent_name"] == "李晓"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"since": "2026-11-21T12:00", "until": "2026-11-21T10:00"}, "until"),
        ({"agent": "nobody"}, "agent"),
        ({"number": "abc"}, "number"),
        ({"caller": "12"}, "caller"),
        ({"since": "yesterday"}, "since"),
    ],
)
def test_api_refuses_bad_filters(people: Any, params: dict[str, str], field: str) -> None:
    response = as_user(people.chen).get("/api/v1/telephony/recordings", params)
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"
    assert field in response.json()["fields"]


def test_numbers_are_masked_for_roles_without_personal_data(
    people: Any, library: dict[str, Recording]
) -> None:
    before = AuditEvent.objects.filter(note="recording search").count()
    items = as_user(people.ma).get("/api/v1/telephony/recordings").json()["items"]
    assert {i["caller"] for i in items} == {"138****0001", "138****0002", "138****0003"}
    assert AuditEvent.objects.filter(note="recording search").count() == before
    as_user(people.chen).get("/api/v1/telephony/recordings")
    assert AuditEvent.objects.filter(note="recording search").count() == before + 1


def test_screen_lists_filters_and_masks(people: Any, library: dict[str, Recording]) -> None:
    url = reverse("telephony:recordings")
    page = as_user(people.ma).get(url)
    assert page.status_code == 200
    text = page.content.decode()
    assert text.count('data-testid="recording-row"') == 3
    assert "138****0001" in text and "13800000001" not in text
    assert f'src="{audio_url(library["a"])}"' in text and 'preload="none"' in text
    assert library["a"].sha256[:12] in text
    assert "10:00:00" in text  # started_at shown in Beijing time (02:00 UTC)
    filtered = as_user(people.chen).get(url, {"trunk": "CU-2"}).content.decode()
    assert filtered.count('data-testid="recording-row"') == 1 and "13800000002" in filtered
    local = as_user(people.chen).get(url, {"since": "2026-11-22T00:00"}).content.decode()
    assert local.count('data-testid="recording-row"') == 1 and "13800000003" in local
    bad = as_user(people.chen).get(url, {"number": "x"})
    assert bad.status_code == 200 and 'data-testid="recording-row"' not in bad.content.decode()


# --- Permission ------------------------------------------------------------------------------------


def test_agents_and_handlers_may_not_search_or_play(people: Any, library: dict[str, Recording]) -> None:
    for user in (people.li, people.wang, people.zhou):
        client = as_user(user)
        assert client.get(reverse("telephony:recordings")).status_code == 403
        assert client.get(audio_url(library["a"])).status_code == 403
        assert client.get("/api/v1/telephony/recordings").status_code == 403
        assert client.get(f"/api/v1/telephony/recordings/{library['a'].pk}").status_code == 403
    assert playbacks(library["a"]) == 0
    assert Client().get(audio_url(library["a"])).status_code == 302  # to the sign-in page


# --- Playback --------------------------------------------------------------------------------------


def test_playback_whole_file_and_ranges(people: Any, recording_dir: Path) -> None:
    recording = store(recording_dir)
    content = (recording_dir / recording.path).read_bytes()
    size = len(content)
    client = as_user(people.chen)

    whole = client.get(audio_url(recording))
    assert whole.status_code == 200
    assert whole["Content-Type"] == "audio/wav"
    assert whole["Accept-Ranges"] == "bytes"
    assert whole["Content-Length"] == str(size)
    assert body(whole) == content

    part = client.get(audio_url(recording), HTTP_RANGE="bytes=100-199")
    assert part.status_code == 206
    assert part["Content-Range"] == f"bytes 100-199/{size}"
    assert part["Content-Length"] == "100"
    assert body(part) == content[100:200]

    tail = client.get(audio_url(recording), HTTP_RANGE="bytes=-10")
    assert tail.status_code == 206 and body(tail) == content[-10:]
    assert tail["Content-Range"] == f"bytes {size - 10}-{size - 1}/{size}"

    open_end = client.get(audio_url(recording), HTTP_RANGE=f"bytes={size - 5}-")
    assert open_end.status_code == 206 and body(open_end) == content[-5:]

    past_end = client.get(audio_url(recording), HTTP_RANGE=f"bytes=0-{size + 1000}")
    assert past_end.status_code == 206 and body(past_end) == content

    for bad in (f"bytes={size}-", "bytes=20-10", "bytes=0-1,5-6", "bytes=abc", "bytes=-0"):
        refused = client.get(audio_url(recording), HTTP_RANGE=bad)
        assert refused.status_code == 416, bad
        assert refused["Content-Range"] == f"bytes */{size}"

    head = client.head(audio_url(recording))
    assert head.status_code == 200 and head["Content-Length"] == str(size) and body(head) == b""

    download = client.get(audio_url(recording), {"download": "1"})
    assert download["Content-Disposition"].startswith("attachment;")
    assert whole["Content-Disposition"].startswith("inline;")


def test_byte_range_parsing() -> None:
    assert byte_range(None, 100) is None
    assert byte_range("items=0-5", 100) is None  # another unit: the whole file
    assert byte_range("bytes=0-", 100) == ByteRange(0, 99)
    assert byte_range("bytes=5-5", 100) == ByteRange(5, 5)
    assert ByteRange(5, 5).length == 1
    with pytest.raises(RangeNotSatisfiable):
        byte_range("bytes=0-0", 0)


def test_one_audit_row_per_playback(people: Any, recording_dir: Path) -> None:
    recording = store(recording_dir)
    chen, ma = as_user(people.chen), as_user(people.ma)
    chen.head(audio_url(recording))
    assert playbacks(recording) == 0  # asking for the headers plays nothing
    chen.get(audio_url(recording), HTTP_RANGE="bytes=0-")
    assert playbacks(recording) == 1
    row = AuditEvent.objects.get(object_type="telephony.recording", object_id=str(recording.pk))
    assert (row.actor_id, row.action, row.note) == (people.chen.pk, "read", "playback")
    # the browser seeks, then asks for the start again within the window: the same playback
    chen.get(audio_url(recording), HTTP_RANGE="bytes=5000-")
    chen.get(audio_url(recording), HTTP_RANGE="bytes=0-")
    chen.get(audio_url(recording))
    assert playbacks(recording) == 1
    ma.get(audio_url(recording))  # another person: another playback
    assert playbacks(recording) == 2
    chen.get(audio_url(recording), {"download": "1"})
    assert playbacks(recording, "download") == 1
    cache.clear()  # the window has passed
    chen.get(audio_url(recording), HTTP_RANGE="bytes=0-")
    assert playbacks(recording) == 3


def test_purged_missing_and_damaged_files(people: Any, recording_dir: Path) -> None:
    client = as_user(people.chen)
    purged = store(recording_dir, call_id="gone")
    Recording.objects.filter(pk=purged.pk).update(purged_at=timezone.now())
    assert client.get(audio_url(purged)).status_code == 410

    missing = store(recording_dir, call_id="missing")
    (recording_dir / missing.path).unlink()
    assert client.get(audio_url(missing)).status_code == 404

    damaged = store(recording_dir, call_id="damaged")
    wav = recording_dir / damaged.path
    wav.write_bytes(wav.read_bytes()[:-4] + b"evil")
    assert client.get(audio_url(damaged)).status_code == 409
    assert playbacks(damaged) == 0
    assert client.get(reverse("telephony:recording_audio", args=[999999])).status_code == 404

    checks = {
        rec.call_id: client.get(f"/api/v1/telephony/recordings/{rec.pk}/verify").json()
        for rec in (purged, missing, damaged)
    }
    assert {k: (v["ok"], v["problem"]) for k, v in checks.items()} == {
        "gone": (False, "purged"),
        "missing": (False, "missing"),
        "damaged": (False, "mismatch"),
    }
    good = store(recording_dir, call_id="good")
    assert recording_verify(good).ok
    assert client.get(f"/api/v1/telephony/recordings/{good.pk}/verify").json()["ok"] is True


# --- Retention -------------------------------------------------------------------------------------


def voicemail(recording_dir: Path, call_id: str, received: datetime, state: str) -> Voicemail:
    relative = f"voicemail/{call_id}.wav"
    write_wav(recording_dir, relative)
    return Voicemail.objects.create(
        call_id=call_id,
        caller="13700000000",
        audio_path=relative,
        seconds=3.0,
        received_at=received,
        state=state,
    )


def test_purge_removes_old_files_and_keeps_rows(people: Any, recording_dir: Path, settings: Any) -> None:
    settings.HOTLINE_RECORDING_RETENTION_DAYS = 180
    now = T0 + timedelta(days=200)
    old = store(recording_dir, call_id="old")
    young = store(recording_dir, call_id="young", started_at=T0 + timedelta(days=150))
    vm_done = voicemail(recording_dir, "vm-done", T0, VoicemailState.DONE)
    vm_open = voicemail(recording_dir, "vm-open", T0, VoicemailState.NEW)
    vm_young = voicemail(recording_dir, "vm-young", T0 + timedelta(days=100), VoicemailState.DONE)

    result = recordings_purge(now=now)
    assert (result.recordings, result.voicemails) == (1, 1)
    old.refresh_from_db()
    young.refresh_from_db()
    assert old.purged_at == now and young.purged_at is None
    assert not (recording_dir / old.path).exists()
    assert not (recording_dir / (old.path + ".sha256")).exists()
    assert (recording_dir / young.path).exists() and (recording_dir / (young.path + ".sha256")).exists()
    assert Recording.objects.count() == 2  # the row stays searchable
    vm_done.refresh_from_db()
    assert vm_done.audio_path == "" and not (recording_dir / "voicemail/vm-done.wav").exists()
    assert (recording_dir / vm_open.audio_path).exists() and (recording_dir / vm_young.audio_path).exists()
    run = AuditEvent.objects.filter(note="retention purge").get()
    assert run.action == "delete" and run.after["recordings"] == 1 and run.after["voicemails"] == 1

    again = recordings_purge(now=now)
    assert (again.recordings, again.voicemails) == (0, 0)
    assert AuditEvent.objects.filter(note="retention purge").count() == 2  # one row per run
    assert as_user(people.chen).get(audio_url(old)).status_code == 410


def test_retention_zero_keeps_everything(recording_dir: Path, settings: Any) -> None:
    settings.HOTLINE_RECORDING_RETENTION_DAYS = 0
    old = store(recording_dir, call_id="old")
    assert recordings_purge(now=T0 + timedelta(days=5000)).recordings == 0
    assert (recording_dir / old.path).exists()


def test_daily_task_purges(recording_dir: Path, settings: Any) -> None:
    settings.HOTLINE_RECORDING_RETENTION_DAYS = 1
    old = store(recording_dir, call_id="old", started_at=timezone.now() - timedelta(days=3))
    assert recordings_purge_task.call_local() == {"recordings": 1, "voicemails": 0}
    assert not (recording_dir / old.path).exists()


# --- Voicemail audio -------------------------------------------------------------------------------


def test_voicemail_audio_for_agents_audited(people: Any, recording_dir: Path) -> None:
    vm = voicemail(recording_dir, "vm-1", timezone.now(), VoicemailState.NEW)
    url = reverse("callcenter:voicemail_audio", args=[vm.pk])
    content = (recording_dir / vm.audio_path).read_bytes()
    li = as_user(people.li)
    response = li.get(url, HTTP_RANGE="bytes=0-99")
    assert response.status_code == 206 and body(response) == content[:100]
    assert response["Content-Type"] == "audio/wav"
    li.get(url, HTTP_RANGE="bytes=100-")
    assert playbacks(vm) == 1
    assert as_user(people.wang).get(url).status_code == 403
    Voicemail.objects.filter(pk=vm.pk).update(audio_path="")
    assert li.get(url).status_code == 410


def test_desk_list_has_a_player_for_voicemails(people: Any, recording_dir: Path) -> None:
    vm = voicemail(recording_dir, "vm-2", timezone.now(), VoicemailState.NEW)
    text = as_user(people.li).get(reverse("callcenter:desk_callbacks")).content.decode()
    assert f'src="{reverse("callcenter:voicemail_audio", args=[vm.pk])}"' in text
    assert 'data-testid="voicemail-audio"' in text


def test_many_reports_are_stored_in_one_go_and_a_repeated_one_once(people: Any, recording_dir: Path) -> None:
    from hotline.telephony.recordings import recordings_store_many

    first = store(recording_dir, call_id="call-1")
    call_record("call-2", people.li)
    path2 = "2026/11/21/call-2.wav"
    digest2, _content = write_wav(recording_dir, path2)
    base = {
        "started_at": T0,
        "ended_at": T0 + timedelta(minutes=1),
        "caller": "13812345678",
        "called": "12345",
    }
    reports = [
        {
            **base,
            "call_id": "call-1",
            "path": first.path,
            "sha256": first.sha256,
            "seconds": 9.0,
            "trunk": "",
        },
        {**base, "call_id": "call-2", "path": path2, "sha256": digest2, "trunk": "LOCAL"},
    ]
    assert recordings_store_many(reports) == 2
    assert Recording.objects.count() == 2
    assert Recording.objects.get(call_id="call-1").seconds == first.seconds  # the first report stands
    second = Recording.objects.get(call_id="call-2")
    assert (second.agent_id, second.queue, second.trunk) == (people.li.pk, "GENERAL", "LOCAL")
    with pytest.raises(RecordingPathError):
        recordings_store_many([{**reports[1], "call_id": "call-3", "path": "../x.wav"}])
    assert Recording.objects.count() == 2
