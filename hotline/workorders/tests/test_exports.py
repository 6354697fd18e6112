"""Exports: one order as Word and PDF, order lists as Excel — scope, masking and audit."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from docx import Document
from openpyxl import load_workbook

from conftest import require_service
from hotline.audit.models import AuditEvent
from hotline.workorders import exports
from hotline.workorders import services as s
from hotline.workorders.models import OrderEvent, WorkOrder
from hotline.workorders.selectors import orders_visible_to

pytestmark = pytest.mark.django_db

PHONE = "13812345678"
MASKED = "138****5678"
INTERNAL = "中心内部：该诉求人多次来电，注意沟通方式。"
INSTRUCTION = "请东一街道高度重视，三日内办结并回复市民。"


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def handled(take: Any, people: Any, city: Any) -> WorkOrder:
    """An order through the whole loop: dispatched to 东一街道 (市住建局 assisting), a note, a
    leader instruction, answered, accepted and revisited; plus one centre-internal history row."""
    order = take()
    s.order_dispatch(order=order, actor=people.zhou, lead_unit=city.east1_office, assist_units=[city.housing])
    s.order_sign(order=order, actor=people.wang)
    s.order_note(order=order, actor=people.wang, text="已联系施工方，责令停止夜间施工。")
    s.order_instruct(order=order, actor=people.zhao, text=INSTRUCTION)
    OrderEvent.objects.create(
        order=order, actor=people.zhou, action="note", from_state=order.state, to_state=order.state,
        reason=INTERNAL, visible_to_units=False,
    )  # fmt: skip
    s.order_answer(order=order, actor=people.wang, result="resolved", answer="已停工并罚款五千元。")
    s.order_review(order=order, actor=people.zhou, accept=True)
    s.order_revisit(order=order, actor=people.zhou, method="phone", resolved=True, satisfaction="satisfied")
    order.refresh_from_db()
    return order


def docx_text(content: bytes) -> str:
    document = Document(io.BytesIO(content))
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts.extend(cell.text for cell in row.cells)
    return "\n".join(parts)


def exports_of(order: WorkOrder | None = None) -> Any:
    qs = AuditEvent.objects.filter(action="export", object_type="workorders.workorder")
    return qs.filter(object_id=str(order.pk)) if order is not None else qs.filter(object_id="")


def reads_of(order: WorkOrder) -> Any:
    return AuditEvent.objects.filter(
        action="read", object_type="workorders.workorder", object_id=str(order.pk)
    )


# --- Word -----------------------------------------------------------------------------------------


def test_docx_for_an_agent_has_the_full_phone_and_is_an_audited_read(handled: WorkOrder, people: Any) -> None:
    response = signed_in(people.li).get(reverse("workorder_exports:docx", args=[handled.number]))
    assert response.status_code == 200
    assert response["Content-Type"] == exports.DOCX_TYPE
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert f'filename="workorder-{handled.number}.docx"' in disposition
    encoded = disposition.split("filename*=UTF-8''")[1]
    assert unquote(encoded) == f"工单{handled.number}.docx"

    text = docx_text(response.content)
    assert "测试市12345政务服务便民热线工单" in text
    assert handled.number in text
    assert PHONE in text and "王小明" in text
    assert "城乡建设 / 城市建设和市政管理 / 城管执法" in text
    assert "东一街道办事处" in text and "市住建局" in text  # lead and assisting units
    assert "已联系施工方，责令停止夜间施工。" in text  # history rows
    assert "已停工并罚款五千元。" in text
    assert INSTRUCTION in text
    assert INTERNAL in text  # the centre sees its internal rows
    assert reads_of(handled).filter(actor=people.li).count() == 1
    assert exports_of(handled).filter(actor=people.li, after__format="docx").count() == 1


def test_docx_for_a_leader_is_masked_and_not_a_personal_read(handled: WorkOrder, people: Any) -> None:
    response = signed_in(people.zhao).get(reverse("workorder_exports:docx", args=[handled.number]))
    assert response.status_code == 200
    text = docx_text(response.content)
    assert MASKED in text
    assert PHONE not in text
    assert INSTRUCTION in text
    assert INTERNAL not in text  # units and leaders do not see the centre's internal rows
    assert not reads_of(handled).filter(actor=people.zhao).exists()
    assert exports_of(handled).filter(actor=people.zhao).count() == 1


def test_docx_for_the_handling_unit(handled: WorkOrder, people: Any) -> None:
    text = docx_text(
        signed_in(people.wang).get(reverse("workorder_exports:docx", args=[handled.number])).content
    )
    assert PHONE in text  # the unit may call a citizen who did not ask for anonymity (audited)
    assert INTERNAL not in text
    assert reads_of(handled).filter(actor=people.wang).count() == 1


def test_docx_uses_chinese_fonts_and_highlights_instructions(handled: WorkOrder, people: Any) -> None:
    content = exports.order_docx(order=handled, user=people.zhou)
    document = Document(io.BytesIO(content))
    east_asia = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}eastAsia"
    assert document.styles["Normal"].element.rPr.rFonts.get(east_asia) == "宋体"
    assert document.styles["Hotline Title"].element.rPr.rFonts.get(east_asia) == "黑体"
    xml = document.element.xml
    assert 'w:fill="FFF2CC"' in xml  # the instruction is shaded
    instruction_cells = [
        cell
        for table in document.tables
        for row in table.rows
        for cell in row.cells
        if cell.text == INSTRUCTION
    ]
    assert instruction_cells
    assert all(run.bold for cell in instruction_cells for run in cell.paragraphs[0].runs)


def test_anonymous_order_hides_the_name_from_the_unit(take: Any, people: Any, city: Any) -> None:
    order = take(anonymous=True)
    s.order_dispatch(order=order, actor=people.zhou, lead_unit=city.east1_office)
    text = docx_text(exports.order_docx(order=order, user=people.wang))
    assert "王**" in text and MASKED in text
    assert "王小明" not in text and PHONE not in text
    assert not reads_of(order).exists()


# --- PDF ------------------------------------------------------------------------------------------


def poppler(tool: str) -> str:
    path = shutil.which(tool)
    require_service(path is not None, f"{tool} (Debian poppler-utils)")
    assert path is not None
    return path


def pdf_run(tool: str, content: bytes, tmp_path: Path, *args: str) -> str:
    pdf = tmp_path / "order.pdf"
    pdf.write_bytes(content)
    command = [poppler(tool), *args, str(pdf)] + (["-"] if tool == "pdftotext" else [])
    return subprocess.run(command, capture_output=True, check=True, text=True, timeout=60).stdout  # noqa: S603


def test_pdf_has_pages_chinese_text_and_embedded_fonts(
    handled: WorkOrder, people: Any, tmp_path: Path
) -> None:
    require_service(exports.pdf_font_available(), f"a Chinese TrueType font ({exports.PDF_FONT_PACKAGES})")
    response = signed_in(people.li).get(reverse("workorder_exports:pdf", args=[handled.number]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert "filename*=UTF-8''" in response["Content-Disposition"]

    info = pdf_run("pdfinfo", response.content, tmp_path)
    pages = int(next(line for line in info.splitlines() if line.startswith("Pages:")).split()[1])
    assert pages >= 1
    text = pdf_run("pdftotext", response.content, tmp_path, "-layout")
    assert handled.number in text
    assert "政务服务便民热线工单" in text
    assert "夜间施工噪音扰民" in text
    assert INSTRUCTION[:10] in text
    assert PHONE in text
    fonts = pdf_run("pdffonts", response.content, tmp_path)
    embedded = [line for line in fonts.splitlines()[2:] if line.strip()]
    assert embedded and all(" yes " in line for line in embedded), fonts  # every font is embedded
    assert any("UMing" in line or "ZenHei" in line or "MicroHei" in line for line in embedded)
    assert exports_of(handled).filter(actor=people.li, after__format="pdf").count() == 1


def test_pdf_for_a_leader_is_masked(handled: WorkOrder, people: Any, tmp_path: Path) -> None:
    require_service(exports.pdf_font_available(), f"a Chinese TrueType font ({exports.PDF_FONT_PACKAGES})")
    content = exports.order_pdf(order=handled, user=people.zhao)
    text = pdf_run("pdftotext", content, tmp_path)
    assert MASKED in text and PHONE not in text


def test_pdf_without_fonts_is_503(handled: WorkOrder, people: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    def missing() -> tuple[str, str]:
        raise exports.PdfFontMissing("none")

    monkeypatch.setattr(exports, "pdf_fonts", missing)
    response = signed_in(people.li).get(reverse("workorder_exports:pdf", args=[handled.number]))
    assert response.status_code == 503
    assert not exports_of(handled).exists()
    assert not reads_of(handled).exists()  # nothing was read


# --- Scope and permission -------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["docx", "pdf"])
def test_another_streets_handler_gets_404(handled: WorkOrder, people: Any, kind: str) -> None:
    response = signed_in(people.qian).get(reverse(f"workorder_exports:{kind}", args=[handled.number]))
    assert response.status_code == 404
    assert not exports_of(handled).exists()


def test_anonymous_users_are_sent_to_log_in(handled: WorkOrder) -> None:
    for url in (
        reverse("workorder_exports:docx", args=[handled.number]),
        reverse("workorder_exports:pdf", args=[handled.number]),
        reverse("workorder_exports:list_xlsx"),
    ):
        response = Client().get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("accounts:login"))


def test_unknown_number_is_404(people: Any) -> None:
    assert (
        signed_in(people.li).get(reverse("workorder_exports:docx", args=["2099010100001"])).status_code == 404
    )


# --- Excel ----------------------------------------------------------------------------------------


@pytest.fixture
def three(take: Any, people: Any, city: Any) -> dict[str, WorkOrder]:
    """One order with 东一街道, one with 东二街道, one waiting for dispatch."""
    east1 = take(title="东一的工单")
    s.order_dispatch(order=east1, actor=people.zhou, lead_unit=city.east1_office)
    east2 = take(title="东二的工单", region=city.east2, citizen_phone="13900001111")
    s.order_dispatch(order=east2, actor=people.zhou, lead_unit=city.east2_office)
    waiting = take(title="待派的工单", citizen_phone="02088886666")
    return {"east1": east1, "east2": east2, "waiting": waiting}


def sheet_rows(content: bytes) -> list[tuple[Any, ...]]:
    sheet = load_workbook(io.BytesIO(content)).active
    return [tuple(row) for row in sheet.iter_rows(values_only=True)]


def xlsx_of(user: Any, query: str = "") -> Any:
    return signed_in(user).get(reverse("workorder_exports:list_xlsx") + query)


def test_xlsx_for_the_centre_has_every_order_masked(three: dict[str, WorkOrder], people: Any) -> None:
    response = xlsx_of(people.zhou)
    assert response.status_code == 200
    assert response["Content-Type"] == exports.XLSX_TYPE
    assert "filename*=UTF-8''" in response["Content-Disposition"]
    workbook = load_workbook(io.BytesIO(response.content))
    sheet = workbook.active
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:N4"
    assert sheet.column_dimensions["E"].width > 20
    rows = sheet_rows(response.content)
    header, body = rows[0], rows[1:]
    assert header[:3] == ("工单编号", "受理时间", "受理渠道")
    assert "联系电话" in header and "主办单位" in header
    assert sorted(r[0] for r in body) == sorted(o.number for o in three.values())
    phone = header.index("联系电话")
    assert {r[phone] for r in body} == {MASKED, "139****1111", "020****6666"}
    by_number = {r[0]: r for r in body}
    east1 = by_number[three["east1"].number]
    assert east1[header.index("诉求分类")] == "城乡建设 / 城市建设和市政管理 / 城管执法"
    assert east1[header.index("所属区域")] == "东区 / 东一街道"
    assert east1[header.index("主办单位")] == "东一街道办事处"
    assert east1[header.index("工单状态")] == "待签收"
    received = east1[header.index("受理时间")]  # Asia/Shanghai wall time
    assert received.strftime("%Y-%m-%d %H:%M") == exports.local(three["east1"].created_at)
    audit = exports_of().get(actor=people.zhou)
    assert audit.after == {"format": "xlsx", "rows": 3}
    assert audit.note == "all"


def test_xlsx_for_a_street_handler_has_only_their_streets_orders(
    three: dict[str, WorkOrder], people: Any
) -> None:
    assert [r[0] for r in sheet_rows(xlsx_of(people.wang).content)[1:]] == [three["east1"].number]
    assert [r[0] for r in sheet_rows(xlsx_of(people.qian).content)[1:]] == [three["east2"].number]
    assert exports_of().filter(actor=people.qian, after__rows=1).count() == 1


def test_xlsx_filters_like_the_api(three: dict[str, WorkOrder], people: Any) -> None:
    def numbers(query: str) -> list[str]:
        response = xlsx_of(people.zhou, query)
        assert response.status_code == 200, response.content
        return sorted(r[0] for r in sheet_rows(response.content)[1:])

    assert numbers("?state=pending_dispatch") == [three["waiting"].number]
    assert numbers("?state=pending_sign,pending_dispatch") == sorted(o.number for o in three.values())
    assert numbers("?unit=ST-EAST2") == [three["east2"].number]
    assert numbers("?phone=13900001111") == [three["east2"].number]
    assert numbers("?q=东一") == [three["east1"].number]
    assert numbers(f"?number={three['east1'].number}") == [three["east1"].number]
    assert numbers("?since=2000-01-01&until=2000-01-02") == []
    assert numbers("?deadline_level=0&channel=phone") == sorted(o.number for o in three.values())
    assert numbers(f"?category={three['east1'].category.code}") == sorted(o.number for o in three.values())
    assert exports_of().filter(note="unit=ST-EAST2").count() == 1


@pytest.mark.parametrize("query", ["?since=yesterday", "?deadline_level=high", "?until=2026-13-40"])
def test_xlsx_bad_filters_are_400(three: dict[str, WorkOrder], people: Any, query: str) -> None:
    assert xlsx_of(people.zhou, query).status_code == 400
    assert not exports_of().exists()


def test_xlsx_is_cut_at_the_limit_with_a_note(three: dict[str, WorkOrder], people: Any) -> None:
    result = exports.orders_workbook(orders_visible_to(people.zhou), people.zhou, limit=2)
    assert result.rows == 2 and result.cut
    rows = sheet_rows(result.content)
    assert len([r for r in rows[1:] if r[0] and r[0].isdigit()]) == 2
    assert "2" in rows[-1][0] and "筛选" in rows[-1][0]
    assert load_workbook(io.BytesIO(result.content)).active.auto_filter.ref == "A1:N3"
    # below the limit there is no note
    assert not exports.orders_workbook(orders_visible_to(people.zhou), people.zhou, limit=3).cut


def test_documents_are_chinese_for_english_users_and_lists_follow_the_language(
    handled: WorkOrder, people: Any
) -> None:
    client = signed_in(people.zhou)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    docx = client.get(reverse("workorder_exports:docx", args=[handled.number]))
    assert "政务服务便民热线工单" in docx_text(docx.content)
    assert "工单编号" in docx_text(docx.content)
    assert unquote(docx["Content-Disposition"].split("filename*=UTF-8''")[1]).startswith("工单")
    sheet = client.get(reverse("workorder_exports:list_xlsx"))
    assert sheet_rows(sheet.content)[0][0] == "Order number"


def test_exports_only_answer_get(handled: WorkOrder, people: Any) -> None:
    response = signed_in(people.li).post(reverse("workorder_exports:docx", args=[handled.number]))
    assert response.status_code == 405
