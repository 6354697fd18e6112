"""Fixtures for the citizen portal: form data as a person would send it, images, and an order that
has gone round the loop to the citizen's rating."""

from __future__ import annotations

import struct
import time
import zlib
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from hotline.core.tests.conftest import browser  # noqa: F401 (Debian chromium, as the UI shell's tests)
from hotline.portal import tokens
from hotline.workorders import services as s
from hotline.workorders.tests.conftest import take, tree  # noqa: F401 (categories, intake helper)

PHONE = "13900001111"


def png_bytes(width: int = 4, height: int = 3) -> bytes:
    """A real (tiny) PNG: a colour gradient."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(
        b"\x00" + b"".join(bytes((40 + x * 150 // width, 90 + y * 120 // height, 170)) for x in range(width))
        for y in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def photo(name: str = "photo.png", content: bytes | None = None, content_type: str = "image/png") -> Any:
    return SimpleUploadedFile(name, png_bytes() if content is None else content, content_type=content_type)


def started(seconds_ago: float = 60) -> str:
    """A form clock issued ``seconds_ago``, as if a person had spent that long on the form."""
    return tokens.form_clock(now=time.time() - seconds_ago)


@pytest.fixture
def form_data(tree: Any, city: Any) -> Any:  # noqa: F811
    """``form_data(**changes)`` — a complete, valid submission."""

    def make(**changes: Any) -> dict[str, Any]:
        data: dict[str, Any] = {
            "request_type": str(tree.complaint.pk),
            "category_group": str(tree.building.pk),
            "category": str(tree.enforcement.pk),
            "region": str(city.east1.pk),
            "address": "建设路12号小区东门",
            "title": "小区门口路灯不亮",
            "content": "建设路12号小区东门的路灯已经坏了一周，晚上很黑，请尽快修理。",
            "citizen_name": "赵敏",
            "citizen_phone": "139 0000 1111",
            "website": "",
            "started": started(),
        }
        data.update(changes)
        return {k: v for k, v in data.items() if v is not None}

    return make


@pytest.fixture
def answered(people: Any, city: Any, take: Any) -> Any:  # noqa: F811
    """An order through dispatch, handling (with internal notes), one answer sent back by the
    centre and a second one accepted: waiting for the citizen's rating (pending_revisit)."""
    order = take(citizen_phone=PHONE, title="小区门口路灯不亮")
    s.order_dispatch(order=order, actor=people.zhou, lead_unit=city.east1_office, note="派单备注：请街道核实")
    s.order_sign(order=order, actor=people.wang)
    s.order_note(order=order, actor=people.wang, text="内部进展：已联系供电所")
    s.order_answer(order=order, actor=people.wang, result="resolved", answer="初步答复")
    s.order_review(order=order, actor=people.zhou, accept=False, reason="审核意见：答复太简单")
    s.order_answer(
        order=order, actor=people.wang, result="resolved", answer="路灯已于今日修复，感谢您的反映。"
    )
    s.order_review(order=order, actor=people.zhou, accept=True)
    order.refresh_from_db()
    return order
