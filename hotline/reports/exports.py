"""Any report (``tables.Table``) as an Excel workbook or a PDF (R6, docs/reports.md).

Both are generic: they read the columns' kinds, so every report screen exports the same way. The
workbook keeps numbers as numbers (rates as percent-formatted fractions, durations as time
values) so that a sheet can be summed and sorted; the PDF is the printed form: landscape A4, the
title, the range and the time it was made on top, the header row repeated on every page, with the
Chinese fonts of the order forms (``workorders.exports.pdf_fonts``).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from hotline.audit.models import AuditAction
from hotline.audit.services import audit_record
from hotline.core.localtime import LOCAL_TZ
from hotline.workorders.exports import PDF_TYPE, XLSX_TYPE, content_disposition, pdf_fonts

from .tables import Column, Row, Table, format_value

__all__ = [
    "PDF_TYPE",
    "XLSX_TYPE",
    "content_disposition",
    "file_name",
    "range_label",
    "record_export",
    "tables_pdf",
    "tables_xlsx",
]

# Excel number formats per column kind (a value of kind "seconds" is written as a fraction of a day).
XLSX_FORMATS = {
    "int": "#,##0",
    "rate": "0.0%",
    "change": "+0.0%;-0.0%;0.0%",
    "seconds": "[h]:mm:ss",
    "score": "0.00",
    "float": "0.00",
}
HEADER_FILL = "DDEBF7"  # as the order lists (workorders.exports)
TOTAL_FILL = "F2F2F2"
NONE_TEXT = "—"


# --- Shared ------------------------------------------------------------------------------------------


def _local_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return timezone.localtime(value, LOCAL_TZ).date() if timezone.is_aware(value) else value.date()
    if isinstance(value, date):
        return value
    return None


def range_label(table: Table) -> str:
    """The report's range as dates, both included: "2026-10-01 – 2026-10-31" (the range itself is
    half-open, ``[start, end)``)."""
    start = _local_date(table.params.get("start"))
    end_value = table.params.get("end")
    end = _local_date(end_value)
    if start is None or end is None:
        return ""
    if isinstance(end_value, datetime) and end > start:
        end_local = timezone.localtime(end_value, LOCAL_TZ) if timezone.is_aware(end_value) else end_value
        if end_local.time() == datetime.min.time():
            end = end - timedelta(days=1)  # [start, next midnight) ends on the day before
    if start == end:
        return start.isoformat()
    return f"{start.isoformat()} – {end.isoformat()}"


def made_at_label(now: datetime | None = None) -> str:
    moment = timezone.localtime(now or timezone.now(), LOCAL_TZ)
    return _("Made %(time)s") % {"time": moment.strftime("%Y-%m-%d %H:%M")}


def file_name(table: Table, suffix: str) -> tuple[str, str]:
    """(the file's name in the user's language, an ASCII fallback) for ``Content-Disposition``."""
    span = range_label(table).replace(" – ", "_")
    title = str(table.title)
    name = f"{title} {span}".strip()
    stamp = span.replace("-", "") or timezone.localtime(timezone.now(), LOCAL_TZ).strftime("%Y%m%d")
    return f"{name}.{suffix}", f"report-{stamp}.{suffix}"


def record_export(*, table: Table, what: str, rows: int, query: str = "") -> None:
    """One audit row (action ``export``) per report downloaded."""
    audit_record(
        action=AuditAction.EXPORT,
        object_type="reports.report",
        object_repr=str(table.title)[:200],
        after={"format": what, "rows": rows, "range": range_label(table)},
        note=query[:500],
    )


def _rows(table: Table) -> list[tuple[Row, bool]]:
    rows = [(row, False) for row in table.rows]
    if table.total is not None:
        rows.append((table.total, True))
    return rows


def label_heading(table: Table) -> str:
    """The heading of the rows' label column: what the rows are (units, regions, hours …)."""
    labels = {
        "unit": _("Unit"),
        "region": _("Region"),
        "category": _("Category"),
        "type": _("Type"),
        "channel": _("Channel"),
        "hour": _("Hour"),
        "day": _("Day"),
        "queue": _("Queue"),
        "number": _("Hotline number"),
        "trunk": _("Trunk"),
        "agent": _("Agent"),
    }
    return labels.get(str(table.params.get("by") or ""), _("Item"))


def value_columns(table: Table) -> tuple[str, list[Column]]:
    """The heading of the rows' labels and the columns of values: a leading ``label`` column names
    the labels and holds no values of its own."""
    columns = list(table.columns)
    if columns and columns[0].key == "label":
        return str(columns[0].label), columns[1:]
    return label_heading(table), columns


# --- Excel ---------------------------------------------------------------------------------------------


def _xlsx_value(column: Column, value: Any) -> Any:
    if value is None:
        return NONE_TEXT if column.kind in ("rate", "change", "seconds", "score", "float") else None
    if column.kind == "seconds":
        return float(value) / 86400
    if column.kind == "text":
        return str(value)
    if column.kind == "int":
        return int(value)
    return float(value) if isinstance(value, int | float) else str(value)


def _sheet_title(title: str, used: set[str]) -> str:
    # Excel: at most 31 characters, none of []:*?/\ and unique in the workbook
    clean = "".join("_" if c in "[]:*?/\\" else c for c in title)[:31] or "Sheet"
    name, n = clean, 2
    while name in used:
        tail = f" ({n})"
        name = clean[: 31 - len(tail)] + tail
        n += 1
    used.add(name)
    return name


def tables_xlsx(tables: Sequence[Table], *, user: Any = None, now: datetime | None = None) -> bytes:
    """``tables`` as one workbook, a sheet per table: the title, the range and the time it was made,
    then a header row (frozen), one row per report row (indented by level) and the total in bold."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
    from openpyxl.utils import get_column_letter

    workbook = Workbook()
    workbook.remove(workbook.active)  # type: ignore[arg-type]
    workbook.properties.creator = (getattr(user, "display_name", "") or str(user or "")) or "Hotline"
    workbook.properties.title = str(tables[0].title) if tables else ""
    header_font = Font(bold=True)
    header_fill = PatternFill("solid", fgColor=HEADER_FILL)
    total_fill = PatternFill("solid", fgColor=TOTAL_FILL)
    thin = Side(style="thin", color="BFBFBF")
    border = Border(top=thin, bottom=thin, left=thin, right=thin)
    used: set[str] = set()
    made = made_at_label(now)
    for table in tables:
        sheet = workbook.create_sheet(_sheet_title(str(table.title), used))
        heading, columns = value_columns(table)
        width = len(columns) + 1
        sheet.cell(row=1, column=1, value=str(table.title)).font = Font(bold=True, size=14)
        sheet.cell(row=2, column=1, value=" · ".join(p for p in (range_label(table), made) if p))
        header_row = 4
        headers = [heading, *(str(c.label) for c in columns)]
        for index, text in enumerate(headers, start=1):
            cell = sheet.cell(row=header_row, column=index, value=text)
            cell.font = header_font
            cell.fill = header_fill
            cell.border = border
            cell.alignment = Alignment(vertical="center", wrap_text=True, horizontal="center")
        sheet.freeze_panes = sheet.cell(row=header_row + 1, column=2)
        line = header_row
        for row, is_total in _rows(table):
            line += 1
            label = sheet.cell(row=line, column=1, value=str(row.label))
            label.alignment = Alignment(indent=min(row.level, 15))
            label.border = border
            for index, column in enumerate(columns, start=2):
                value = row.values.get(column.key)
                cell = sheet.cell(row=line, column=index, value=_xlsx_value(column, value))
                cell.border = border
                if value is None and cell.value == NONE_TEXT:
                    cell.alignment = Alignment(horizontal="right")
                elif column.kind in XLSX_FORMATS:
                    cell.number_format = XLSX_FORMATS[column.kind]
            if is_total:
                for index in range(1, width + 1):
                    cell = sheet.cell(row=line, column=index)
                    cell.font = header_font
                    cell.fill = total_fill
        sheet.column_dimensions["A"].width = max(
            12, min(40, max((len(str(r.label)) * 2 + 2 * r.level for r, _t in _rows(table)), default=12))
        )
        for index, column in enumerate(columns, start=2):
            sheet.column_dimensions[get_column_letter(index)].width = max(
                10, min(24, len(str(column.label)) * 2)
            )
        if line > header_row:
            sheet.auto_filter.ref = f"A{header_row}:{get_column_letter(width)}{line}"
        sheet.print_title_rows = f"{header_row}:{header_row}"
        sheet.page_setup.orientation = "landscape"
        sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
        sheet.page_setup.fitToWidth = 1
        sheet.page_setup.fitToHeight = 0
        sheet.sheet_properties.pageSetUpPr.fitToPage = True
    if not tables:
        workbook.create_sheet("Sheet")
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


# --- PDF -----------------------------------------------------------------------------------------------


def tables_pdf(tables: Sequence[Table], *, user: Any = None, now: datetime | None = None) -> bytes:
    """``tables`` as one PDF, landscape A4, a table per page run: title, range and time on top, the
    header row repeated on each page, the total in bold, page numbers in the footer. Raises
    ``workorders.exports.PdfFontMissing`` when no Chinese font is installed."""
    from xml.sax.saxutils import escape

    from reportlab.lib import colors
    from reportlab.lib.enums import TA_CENTER, TA_RIGHT
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Spacer, TableStyle
    from reportlab.platypus import Table as PdfTable

    body_font, heading_font = pdf_fonts()
    page_size = landscape(A4)
    margin = 12 * mm
    usable = page_size[0] - 2 * margin
    title_style = ParagraphStyle(
        "title", fontName=heading_font, fontSize=16, leading=22, alignment=TA_CENTER, spaceAfter=4
    )
    meta_style = ParagraphStyle(
        "meta", fontName=body_font, fontSize=9, leading=12, alignment=TA_CENTER, spaceAfter=8
    )
    made = made_at_label(now)
    author = (getattr(user, "display_name", "") or str(user or "")) or "Hotline"
    story: list[Any] = []
    for number, table in enumerate(tables):
        if number:
            story.append(PageBreak())
        story.append(Paragraph(escape(str(table.title)), title_style))
        story.append(Paragraph(escape(" · ".join(p for p in (range_label(table), made) if p)), meta_style))
        heading, columns = value_columns(table)
        count = len(columns)
        size = 9.0 if count <= 8 else 8.0 if count <= 12 else 7.0 if count <= 16 else 6.0
        cell = ParagraphStyle("cell", fontName=body_font, fontSize=size, leading=size * 1.3, wordWrap="CJK")
        number_style = ParagraphStyle("num", parent=cell, alignment=TA_RIGHT)
        head = ParagraphStyle("head", parent=cell, fontName=heading_font, alignment=TA_CENTER)
        label_width = min(60 * mm, max(30 * mm, usable * 0.2))
        other = (usable - label_width) / max(count, 1)
        data: list[list[Any]] = [
            [Paragraph(escape(heading), head)] + [Paragraph(escape(str(c.label)), head) for c in columns]
        ]
        commands: list[tuple[Any, ...]] = [
            ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#808080")),
            ("FONTNAME", (0, 0), (-1, -1), body_font),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#" + HEADER_FILL)),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ("TOPPADDING", (0, 0), (-1, -1), 2),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
        ]
        for index, (row, is_total) in enumerate(_rows(table), start=1):
            style, numbers = cell, number_style
            if is_total:
                style = ParagraphStyle("total", parent=cell, fontName=heading_font)
                numbers = ParagraphStyle("total_num", parent=number_style, fontName=heading_font)
                commands.append(("BACKGROUND", (0, index), (-1, index), colors.HexColor("#" + TOTAL_FILL)))
            label_style = style
            if row.level:
                label_style = ParagraphStyle("indented", parent=style, leftIndent=min(row.level, 6) * size)
            line = [Paragraph(escape(str(row.label)), label_style)]
            for column in columns:
                text = format_value(column.kind, row.values.get(column.key))
                line.append(Paragraph(escape(text), style if column.kind == "text" else numbers))
            data.append(line)
        if not table.rows and table.total is None:
            data.append([Paragraph(escape(_("No data in this range.")), cell)] + [""] * count)
            commands.append(("SPAN", (0, 1), (-1, 1)))
        story.append(
            PdfTable(
                data, colWidths=[label_width] + [other] * count, repeatRows=1, style=TableStyle(commands)
            )
        )
        story.append(Spacer(1, 4 * mm))

    page_label = _("Page %(page)s")

    def footer(canvas: Any, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont(body_font, 8)
        canvas.setFillColor(colors.HexColor("#404040"))
        canvas.drawString(margin, 7 * mm, f"{author} · {made}")
        canvas.drawRightString(page_size[0] - margin, 7 * mm, page_label % {"page": doc.page})
        canvas.restoreState()

    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=page_size,
        leftMargin=margin,
        rightMargin=margin,
        topMargin=margin,
        bottomMargin=14 * mm,
        title=str(tables[0].title) if tables else "",
        author=author,
        creator="Hotline",
        lang="zh-CN",
        initialFontName=body_font,
    )
    if not story:
        story.append(Paragraph(escape(_("No data in this range.")), meta_style))
    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return out.getvalue()
