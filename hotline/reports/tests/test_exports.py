"""Any report table as Excel and PDF: values kept as numbers with the columns' formats, the title,
the range and the time on top, the header repeated on every PDF page, Chinese fonts embedded."""

from __future__ import annotations

import io
import shutil
import subprocess
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import translation

from conftest import require_service
from hotline.core.localtime import LOCAL_TZ
from hotline.reports import exports
from hotline.reports.tables import Column, Row, Table
from hotline.workorders.exports import PDF_FONT_PACKAGES, pdf_font_available

START = datetime(2026, 10, 1, tzinfo=LOCAL_TZ)
END = datetime(2026, 11, 1, tzinfo=LOCAL_TZ)
MADE = datetime(2026, 11, 2, 8, 30, tzinfo=LOCAL_TZ)


def sample(rows: int = 3, title: str = "部门考核") -> Table:
    columns = [
        Column("orders", "工单数", "int", drill="orders"),
        Column("sign_rate", "响应率", "rate", drill="sign_rate"),
        Column("talk", "平均通话", "seconds"),
        Column("score", "得分", "score"),
        Column("change", "环比", "change"),
        Column("note", "备注", "text"),
    ]
    body = [
        Row(
            i,
            f"第{i}街道办事处",
            {
                "orders": i * 10,
                "sign_rate": i / 4,
                "talk": 90 * i,
                "score": 80 + i,
                "change": -0.1 * i,
                "note": "—",
            },
            level=i % 2,
        )
        for i in range(1, rows + 1)
    ]
    body.append(Row(99, "市自来水公司", {"orders": 0, "sign_rate": None, "talk": None, "score": None}))
    total = Row("", "合计", {"orders": 1234, "sign_rate": 0.5, "talk": 3725, "score": 90, "change": 0.25})
    return Table(title, columns, body, total, {"start": START, "end": END, "by": "unit"})


def test_range_label_shows_the_last_day_included() -> None:
    assert exports.range_label(sample()) == "2026-10-01 – 2026-10-31"
    one_day = Table("x", [], [], None, {"start": START, "end": datetime(2026, 10, 2, tzinfo=LOCAL_TZ)})
    assert exports.range_label(one_day) == "2026-10-01"
    assert exports.range_label(Table("x", [], [], None, {})) == ""
    name, fallback = exports.file_name(sample(), "xlsx")
    assert name == "部门考核 2026-10-01_2026-10-31.xlsx"
    assert fallback == "report-20261001_20261031.xlsx" and fallback.isascii()


def test_xlsx_keeps_numbers_with_the_formats_of_their_kinds() -> None:
    from openpyxl import load_workbook

    with translation.override("zh-hans"):
        content = exports.tables_xlsx([sample()], now=MADE)
    book = load_workbook(io.BytesIO(content))
    sheet = book["部门考核"]
    assert sheet["A1"].value == "部门考核"
    assert "2026-10-01 – 2026-10-31" in sheet["A2"].value and "2026-11-02 08:30" in sheet["A2"].value
    assert [c.value for c in sheet[4]] == ["单位", "工单数", "响应率", "平均通话", "得分", "环比", "备注"]
    assert sheet.freeze_panes == "B5"
    first = sheet[5]
    assert first[0].value == "第1街道办事处" and first[0].alignment.indent == 1
    assert first[1].value == 10 and first[1].number_format == "#,##0"
    assert first[2].value == 0.25 and first[2].number_format == "0.0%"
    assert first[3].value == timedelta(seconds=90) and first[3].number_format == "[h]:mm:ss"
    assert first[4].value == 81 and first[4].number_format == "0.00"
    assert first[5].value == pytest.approx(-0.1) and first[5].number_format.startswith("+0.0%")
    assert sheet[6][0].alignment.indent == 0
    no_orders = sheet[8]
    assert no_orders[0].value == "市自来水公司"
    assert no_orders[1].value == 0
    assert no_orders[2].value == "—"  # no denominator: a dash, never 0 %
    total = sheet[9]
    assert total[0].value == "合计" and total[0].font.bold
    assert total[1].value == 1234 and total[1].font.bold
    assert total[3].value == timedelta(seconds=3725)  # a time value: 1:02:05
    assert sheet.auto_filter.ref == "A4:G9"
    assert sheet.page_setup.orientation == "landscape"


def test_xlsx_puts_each_table_on_its_own_sheet_with_unique_names() -> None:
    from openpyxl import load_workbook

    content = exports.tables_xlsx([sample(), sample(title="部门考核"), sample(title="a/b:c")])
    book = load_workbook(io.BytesIO(content))
    assert book.sheetnames == ["部门考核", "部门考核 (2)", "a_b_c"]


def poppler(tool: str) -> str:
    path = shutil.which(tool)
    require_service(path is not None, f"{tool} (Debian poppler-utils)")
    assert path is not None
    return path


def pdf_run(tool: str, content: bytes, tmp_path: Path, *args: str) -> str:
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(content)
    command = [poppler(tool), *args, str(pdf)] + (["-"] if tool == "pdftotext" else [])
    return subprocess.run(command, capture_output=True, check=True, text=True, timeout=60).stdout  # noqa: S603


def test_pdf_is_landscape_with_title_range_time_and_the_header_on_every_page(tmp_path: Path) -> None:
    require_service(pdf_font_available(), f"a Chinese TrueType font ({PDF_FONT_PACKAGES})")
    with translation.override("zh-hans"):
        content = exports.tables_pdf([sample(rows=60)], user=None, now=MADE)
    assert content.startswith(b"%PDF")
    info = pdf_run("pdfinfo", content, tmp_path)
    pages = int(next(line for line in info.splitlines() if line.startswith("Pages:")).split()[1])
    assert pages >= 2
    size = next(line for line in info.splitlines() if line.startswith("Page size:"))
    width, height = (float(v) for v in size.split(":")[1].split("pts")[0].split("x"))
    assert width > height  # landscape A4: 842 x 595 pt
    assert round(width) == 842 and round(height) == 595
    for page in range(1, pages + 1):
        text = pdf_run("pdftotext", content, tmp_path, "-layout", "-f", str(page), "-l", str(page))
        assert "响应率" in text and "平均通话" in text, f"no header on page {page}"
    first = pdf_run("pdftotext", content, tmp_path, "-layout", "-f", "1", "-l", "1")
    assert "部门考核" in first
    assert "2026-10-01 – 2026-10-31" in first
    assert "2026-11-02 08:30" in first
    assert "25.0%" in first and "0:01:30" in first and "-10.0%" in first
    whole = pdf_run("pdftotext", content, tmp_path, "-layout")
    assert "合计" in whole and "1,234" in whole and "+25.0%" in whole and "1:02:05" in whole
    fonts = pdf_run("pdffonts", content, tmp_path)
    embedded = [line for line in fonts.splitlines()[2:] if line.strip()]
    assert embedded and all(" yes " in line for line in embedded), fonts


def test_pdf_of_several_tables_starts_each_on_a_new_page(tmp_path: Path) -> None:
    require_service(pdf_font_available(), f"a Chinese TrueType font ({PDF_FONT_PACKAGES})")
    content = exports.tables_pdf([sample(title="甲表"), sample(title="乙表")], now=MADE)
    first = pdf_run("pdftotext", content, tmp_path, "-f", "1", "-l", "1")
    second = pdf_run("pdftotext", content, tmp_path, "-f", "2", "-l", "2")
    assert "甲表" in first and "乙表" not in first
    assert "乙表" in second


def test_pdf_without_a_chinese_font_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    from hotline.workorders import exports as order_exports

    def missing() -> Any:
        raise order_exports.PdfFontMissing("none")

    monkeypatch.setattr(exports, "pdf_fonts", missing)
    with pytest.raises(order_exports.PdfFontMissing):
        exports.tables_pdf([sample()])
