"""Recordings in a real browser: a supervisor's player loads a real WAV through the audited,
Range-serving audio view; and the desk sends the call it is on with the order it takes in.

Like the desk's browser tests, the page's socket (``window.hotlineLive``) is replaced by a
recorder, and the switch's messages are played to the page as ``hotline:live`` events.
"""

from __future__ import annotations

import hashlib
import io
import math
import wave
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from conftest import PASSWORD
from hotline.audit.models import AuditEvent
from hotline.callcenter.models import AgentProfile, CallOrderLink, Seat
from hotline.core.tests import conftest as browser_fixtures
from hotline.core.tests.conftest import BrowserSession
from hotline.telephony.models import Recording
from hotline.telephony.recordings import recording_store
from hotline.workorders.models import WorkOrder
from hotline.workorders.tests import conftest as order_fixtures

browser = browser_fixtures.browser
session = browser_fixtures.session
tree = order_fixtures.tree

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

RATE = 8000
SECONDS = 1.5
RECORDER = """
window.hotlineNotifyBell = true;
window.__sent = [];
window.hotlineLive = {
  send: function (message) { window.__sent.push(JSON.parse(JSON.stringify(message))); return true; },
  isOpen: function () { return true; },
};
"""


def tone_wav() -> bytes:
    """1.5 s of stereo 16-bit PCM at 8 kHz: 440 Hz for the caller (left), 660 Hz for the agent."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(RATE)
        frames = bytearray()
        for i in range(int(RATE * SECONDS)):
            for freq in (440, 660):
                sample = int(8000 * math.sin(2 * math.pi * freq * i / RATE))
                frames += sample.to_bytes(2, "little", signed=True)
        w.writeframes(bytes(frames))
    return buffer.getvalue()


@pytest.fixture
def stored(settings: Any, tmp_path: Path, people: Any) -> Recording:
    from django.core.cache import cache

    cache.clear()
    settings.HOTLINE_RECORDING_DIR = tmp_path
    content = tone_wav()
    relative = "2026/11/21/call-browser.wav"
    (tmp_path / relative).parent.mkdir(parents=True)
    (tmp_path / relative).write_bytes(content)
    now = timezone.now()
    return recording_store(
        call_id="call-browser", path=relative, sha256=hashlib.sha256(content).hexdigest(), seconds=SECONDS,
        size_bytes=len(content), started_at=now - timedelta(minutes=5), ended_at=now, caller="13812345678",
        called="12345", trunk="CT-1",
    )  # fmt: skip


def test_a_supervisor_plays_a_recording(session: BrowserSession, stored: Recording) -> None:
    page = session.page
    session.login("chen", PASSWORD)
    session.goto("/telephony/recordings/")
    rows = page.locator("[data-testid=recording-row]")
    assert rows.count() == 1
    assert "13812345678" in rows.first.inner_text()
    audio = page.locator("[data-testid=recording-audio]")
    assert audio.get_attribute("preload") == "none"
    assert page.evaluate("() => isNaN(document.querySelector('[data-testid=recording-audio]').duration)")
    # what the play button does first: load the media
    page.evaluate("() => { const a = document.querySelector('audio'); a.preload = 'auto'; a.load(); }")
    page.wait_for_function(
        "() => { const a = document.querySelector('[data-testid=recording-audio]');"
        " return a.readyState >= 1 && a.duration > 0; }"
    )
    duration = page.evaluate("() => document.querySelector('[data-testid=recording-audio]').duration")
    assert abs(duration - SECONDS) < 0.05
    session.screenshot("telephony_recordings")
    # one playback, one audit row, however many requests the browser made
    rows_for_it = AuditEvent.objects.filter(object_type="telephony.recording", object_id=str(stored.pk))
    assert list(rows_for_it.values_list("action", "note")) == [("read", "playback")]


def test_the_desk_sends_the_call_with_the_order(
    session: BrowserSession, people: Any, tree: Any, city: Any
) -> None:
    seat = Seat.objects.create(extension="8012", name="A-12")
    AgentProfile.objects.create(user=people.li, default_seat=seat)
    page = session.page
    session.login("li", PASSWORD)
    page.add_init_script(RECORDER)
    session.goto("/callcenter/desk/")
    page.wait_for_function("window.__sent.length > 0")
    draft = {
        "citizen_phone": "13812345678", "citizen_name": "王小明", "content": "工地夜间施工",
        "title": "夜间施工噪音", "request_type": tree.complaint.code, "category": tree.enforcement.code,
        "category_label": tree.enforcement.full_name, "region": city.east1.code,
        "region_label": "东区 / 东一街道", "address": "建设路12号", "urgency": "normal",
    }  # fmt: skip
    offer = {"agent_id": people.li.pk, "call_id": "call-55", "caller": "13812345678", "queue": "general",
             "marks": ["transferred"], "draft": draft, "data": {}, "wait_s": 3, "info": {}}  # fmt: skip
    agent = {
        "agent_id": people.li.pk, "name": "李晓", "extension": "8012", "state": "talking",
        "since": timezone.now().isoformat(), "reason": "", "call_id": "call-55", "caller": "13812345678",
        "queue": "general", "calls": 0, "no_answers_in_row": 0,
    }  # fmt: skip
    play = "m => document.dispatchEvent(new CustomEvent('hotline:live', {detail: m}))"
    page.evaluate(play, {"type": "cc.offer", "offer": offer})
    page.evaluate(play, {"type": "cc.agent", "agent": agent})
    page.click("[data-testid=submit-dispatch]")
    page.wait_for_selector("[data-testid=desk-done]")
    order = WorkOrder.objects.get()
    assert list(CallOrderLink.objects.values_list("call_id", "order_id")) == [("call-55", order.pk)]
