"""Work orders as official documents (Word, PDF) and spreadsheets (Excel).

One order becomes the form a 12345 centre prints (``order_docx``, ``order_pdf``): the order's
fields, the leader instructions (领导批示) and the history (流转记录), as the requesting user may
see them — the citizen masked or not exactly as on the detail screen (an unmasked export is an
audited read) and without the centre's internal history rows for units. Any list of orders
becomes a spreadsheet (``orders_xlsx``), phones always masked. See docs/exports.md.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from urllib.parse import quote
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone, translation
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import pgettext

from hotline.audit.models import AuditAction
from hotline.audit.services import audit_record
from hotline.core.errors import ValidationFailed
from hotline.core.masking import mask_phone
from hotline.orgs.models import Region, Unit
from hotline.taxonomy.models import Category, RequestType

from .choices import (
    AssignmentRole,
    AssignmentState,
    Channel,
    DeadlineLevel,
    OrderAction,
    OrderState,
    Result,
    Satisfaction,
)
from .models import Assignment, OrderEvent, WorkOrder
from .selectors import OrderFilter, citizen_fields, history_for, orders_filter

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Official documents (Word, PDF) are always in Chinese, whatever language the user's screens use;
# spreadsheets are working files and follow the user's language.
DOCUMENT_LANGUAGE = "zh-hans"
XLSX_MAX_ROWS = 100_000  # a list export stops here, with a note row saying so
# Labels use the translation context "order form" (written out: xgettext needs a literal).

DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PDF_TYPE = "application/pdf"


# --- Shared helpers -------------------------------------------------------------------------------


def local(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """``value`` in Asia/Shanghai, as text ("" for none)."""
    if value is None:
        return ""
    return timezone.localtime(value, SHANGHAI).strftime(fmt)


def city_name() -> str:
    """The city the centre serves: ``settings.HOTLINE_CITY_NAME`` if set, else the root of the
    region tree."""
    configured = str(getattr(settings, "HOTLINE_CITY_NAME", "") or "").strip()
    if configured:
        return configured
    root = Region.objects.filter(parent__isnull=True).order_by("sort_order", "path").first()
    return root.name if root is not None else ""


def document_title() -> str:
    """XX市12345政务服务便民热线工单."""
    title = pgettext("order form", "%(city)s 12345 Government Service Hotline work order")
    return (title % {"city": city_name()}).strip()


def content_disposition(filename: str, fallback: str) -> str:
    """An attachment header with the (Chinese) name as RFC 5987 ``filename*`` and an ASCII
    ``filename`` for old clients."""
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def record_export(
    *, what: str, obj: WorkOrder | None = None, note: str = "", count: int | None = None
) -> None:
    """One audit row (action ``export``) per export: the order, or the list with its filter."""
    after: dict[str, Any] = {"format": what}
    if count is not None:
        after["rows"] = count
    if obj is not None:
        audit_record(action=AuditAction.EXPORT, obj=obj, after=after, note=note)
    else:
        audit_record(
            action=AuditAction.EXPORT,
            object_type=WorkOrder._meta.label_lower,
            object_repr=str(WorkOrder._meta.verbose_name_plural),
            after=after,
            note=note,
        )


# --- One order: the form ---------------------------------------------------------------------------


@dataclass(frozen=True)
class HistoryRow:
    at: str
    step: str
    unit: str
    person: str
    notes: str
    instruction: bool = False  # a leader instruction: highlighted


@dataclass(frozen=True)
class InstructionRow:
    at: str
    leader: str
    text: str


@dataclass
class OrderSheet:
    """Everything printed on one order's form, already as the requesting user may see it."""

    title: str
    number: str
    # Rows of the form's table: two (label, value) pairs side by side, or one pair across the row.
    rows: list[list[tuple[str, str]]]
    instructions: list[InstructionRow]
    history: list[HistoryRow]
    exported_by: str
    exported_at: str
    headings: dict[str, str] = field(default_factory=dict)

    @property
    def footer(self) -> str:
        return pgettext("order form", "Exported by %(user)s at %(time)s") % {
            "user": self.exported_by,
            "time": self.exported_at,
        }


def _choice_label(choices: Any, value: Any) -> str:
    if value in (None, ""):
        return ""
    try:
        return str(choices(value).label)
    except ValueError:
        return str(value)


def _current_units(order: WorkOrder) -> tuple[str, list[str], Assignment | None]:
    """The lead unit and assisting units of the order's current round."""
    live = [
        a
        for a in order.assignments.select_related("unit").order_by("dispatched_at", "id")
        if a.round == order.round and a.state not in (AssignmentState.RETURNED, AssignmentState.WITHDRAWN)
    ]
    leads = [a for a in live if a.role == AssignmentRole.LEAD]
    lead = leads[-1] if leads else None
    lead_name = order.lead_unit.name if order.lead_unit is not None else (lead.unit.name if lead else "")
    assists = [a.unit.name for a in live if a.role == AssignmentRole.ASSIST]
    return lead_name, assists, lead


def _event_notes(event: OrderEvent, unit_names: Mapping[str, str]) -> str:
    """The reason of a history row and the facts its data holds, one per line."""
    parts = [event.reason] if event.reason else []
    data = event.data or {}
    action = event.action
    if action in (OrderAction.DISPATCH, OrderAction.RETURN_ACCEPT) and data.get("lead"):
        parts.append(
            pgettext("order form", "Lead unit: %(unit)s")
            % {"unit": unit_names.get(data["lead"], data["lead"])}
        )
        assist = [unit_names.get(code, code) for code in data.get("assist") or []]
        if assist:
            parts.append(pgettext("order form", "Assisting units: %(units)s") % {"units": "、".join(assist)})
    elif action == OrderAction.ANSWER and data.get("result"):
        parts.append(
            pgettext("order form", "Result: %(result)s") % {"result": _choice_label(Result, data["result"])}
        )
    elif action == OrderAction.REVISIT and data.get("satisfaction"):
        label = _choice_label(Satisfaction, data["satisfaction"])
        parts.append(pgettext("order form", "Satisfaction: %(satisfaction)s") % {"satisfaction": label})
    elif action in (OrderAction.EXTENSION_REQUEST, OrderAction.EXTENSION_APPROVE) and data.get(
        "working_days"
    ):
        parts.append(pgettext("order form", "%(days)s working days") % {"days": data["working_days"]})
    elif action == OrderAction.DEADLINE and data.get("level") is not None:
        parts.append(_choice_label(DeadlineLevel, data["level"]))
    elif action == OrderAction.MERGE and data.get("into"):
        parts.append(pgettext("order form", "Merged into %(number)s") % {"number": data["into"]})
    elif action == OrderAction.MERGED_IN and data.get("order"):
        parts.append(pgettext("order form", "Order %(number)s merged in") % {"number": data["order"]})
    elif action == OrderAction.LINK and data.get("other"):
        parts.append(pgettext("order form", "Linked with %(number)s") % {"number": data["other"]})
    return "\n".join(parts)


def _history(order: WorkOrder, user: Any) -> list[HistoryRow]:
    events = list(history_for(order=order, user=user))
    codes: set[str] = set()
    for event in events:
        data = event.data or {}
        if data.get("lead"):
            codes.add(str(data["lead"]))
        codes.update(str(c) for c in data.get("assist") or [])
    names = dict(Unit.objects.filter(code__in=codes).values_list("code", "name")) if codes else {}
    system = pgettext("order form", "System")
    return [
        HistoryRow(
            at=local(event.at),
            step=str(event.get_action_display()),
            unit=event.actor_unit.name if event.actor_unit is not None else "",
            person=event.actor.display_name if event.actor is not None else system,
            notes=_event_notes(event, names),
            instruction=event.action == OrderAction.INSTRUCT,
        )
        for event in events
    ]


def order_sheet(*, order: WorkOrder, user: Any) -> OrderSheet:
    """The form of ``order`` as ``user`` may see it. Reading the citizen unmasked is audited."""
    citizen = citizen_fields(order=order, user=user, audit=True)
    name = citizen["citizen_name"]
    flags = [
        pgettext("order form", "anonymous") if order.anonymous else "",
        pgettext("order form", "confidential") if order.confidential else "",
    ]
    flags = [f for f in flags if f]
    if flags:
        name = f"{name}（{'、'.join(flags)}）" if name else "、".join(flags)
    lead_name, assists, lead = _current_units(order)
    category = order.category.full_name if order.category is not None else ""
    answer_label = _choice_label(Result, order.result)
    if answer_label and order.answered_at:
        answer_label = f"{answer_label}（{local(order.answered_at)}）"
    rows: list[list[tuple[str, str]]] = [
        [
            (pgettext("order form", "Order number"), order.number),
            (pgettext("order form", "Received"), local(order.created_at)),
        ],
        [
            (pgettext("order form", "Channel"), _choice_label(Channel, order.channel)),
            (pgettext("order form", "Request type"), order.request_type.name),
        ],
        [(pgettext("order form", "Category"), category)],
        [
            (pgettext("order form", "Urgency"), str(order.get_urgency_display())),
            (pgettext("order form", "State"), _choice_label(OrderState, order.state)),
        ],
        [
            (pgettext("order form", "Citizen"), name),
            (pgettext("order form", "Phone"), citizen["citizen_phone"]),
        ],
        [(pgettext("order form", "Address"), order.address)],
        [(pgettext("order form", "Title"), order.title)],
        [(pgettext("order form", "Request"), order.content)],
        [
            (pgettext("order form", "Lead unit"), lead_name),
            (pgettext("order form", "Assisting units"), "、".join(assists)),
        ],
        [
            (pgettext("order form", "Sign by"), local(lead.sign_due_at) if lead is not None else ""),
            (pgettext("order form", "Answer by"), local(order.answer_due_at)),
        ],
        [
            (pgettext("order form", "Result"), answer_label),
            (pgettext("order form", "Satisfaction"), _choice_label(Satisfaction, order.satisfaction)),
        ],
        [(pgettext("order form", "Answer"), order.answer)],
    ]
    instructions = [
        InstructionRow(at=local(i.at), leader=i.leader.display_name, text=i.text)
        for i in order.instructions.select_related("leader").order_by("at", "id")
    ]
    return OrderSheet(
        title=document_title(),
        number=order.number,
        rows=rows,
        instructions=instructions,
        history=_history(order, user),
        exported_by=getattr(user, "display_name", "") or str(user),
        exported_at=local(timezone.now()),
        headings={
            "instructions": pgettext("order form", "Leader instructions"),
            "history": pgettext("order form", "History"),
            "time": pgettext("order form", "Time"),
            "step": pgettext("order form", "Step"),
            "unit": pgettext("order form", "Unit"),
            "person": pgettext("order form", "Person"),
            "notes": pgettext("order form", "Notes"),
            "leader": pgettext("order form", "Leader"),
            "none": pgettext("order form", "None"),
        },
    )


# --- Word ------------------------------------------------------------------------------------------

# Chinese official documents: 宋体 for text, 黑体 for headings; Latin text in Times New Roman.
DOCX_BODY_FONT = ("Times New Roman", "宋体")
DOCX_HEADING_FONT = ("Times New Roman", "黑体")
LABEL_FILL = "F2F2F2"
INSTRUCTION_FILL = "FFF2CC"


def _docx_child(parent: Any, tag: str) -> Any:
    """The first ``tag`` child of ``parent``, created (first in order) when missing."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    child = parent.find(qn(tag))
    if child is None:
        child = OxmlElement(tag)
        parent.insert(0, child)
    return child


def _docx_fonts(element: Any, latin: str, east_asia: str) -> None:
    """Set the fonts in the ``rPr`` of a style, a run or the document defaults, the East Asian
    one through ``w:eastAsia`` (without it Word shows Chinese text in its default East Asian
    font). Theme fonts are removed: they would win over the names."""
    from docx.oxml.ns import qn

    fonts = _docx_child(_docx_child(element, "w:rPr"), "w:rFonts")
    for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        fonts.attrib.pop(qn(attr), None)
    for attr in ("w:ascii", "w:hAnsi", "w:cs"):
        fonts.set(qn(attr), latin)
    fonts.set(qn("w:eastAsia"), east_asia)


def _docx_shade(cell: Any, fill: str) -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    shd = OxmlElement("w:shd")
    shd.set(qn("w:val"), "clear")
    shd.set(qn("w:color"), "auto")
    shd.set(qn("w:fill"), fill)
    cell._tc.get_or_add_tcPr().append(shd)


def _docx_repeat_header(row: Any) -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    header = OxmlElement("w:tblHeader")
    header.set(qn("w:val"), "true")
    row._tr.get_or_add_trPr().append(header)


def _docx_text(cell: Any, text: str, *, bold: bool = False, style: str | None = None) -> None:
    """Put ``text`` into ``cell``, one paragraph per line."""
    lines = (text or "").split("\n")
    first = cell.paragraphs[0]
    for index, line in enumerate(lines):
        paragraph = first if index == 0 else cell.add_paragraph()
        if style:
            paragraph.style = style
        run = paragraph.add_run(line)
        run.bold = bold or None


def _docx_styles(document: Any) -> None:
    from docx.enum.style import WD_STYLE_TYPE
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml.ns import qn
    from docx.shared import Pt, RGBColor

    styles = document.styles
    normal = styles["Normal"]
    normal.font.size = Pt(10.5)  # 五号
    _docx_fonts(normal.element, *DOCX_BODY_FONT)
    normal.paragraph_format.space_after = Pt(0)
    # the document defaults too, so text outside any style still gets the Chinese font
    defaults = styles.element.find(qn("w:docDefaults"))
    if defaults is not None:
        _docx_fonts(_docx_child(defaults, "w:rPrDefault"), *DOCX_BODY_FONT)

    title = styles.add_style("Hotline Title", WD_STYLE_TYPE.PARAGRAPH)
    title.base_style = normal
    title.font.size = Pt(18)  # 小二
    title.font.bold = True
    _docx_fonts(title.element, *DOCX_HEADING_FONT)
    title.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    title.paragraph_format.space_after = Pt(12)

    heading = styles.add_style("Hotline Heading", WD_STYLE_TYPE.PARAGRAPH)
    heading.base_style = normal
    heading.font.size = Pt(14)  # 四号
    heading.font.bold = True
    _docx_fonts(heading.element, *DOCX_HEADING_FONT)
    heading.paragraph_format.space_before = Pt(12)
    heading.paragraph_format.space_after = Pt(6)
    heading.paragraph_format.keep_with_next = True

    label = styles.add_style("Hotline Label", WD_STYLE_TYPE.PARAGRAPH)
    label.base_style = normal
    _docx_fonts(label.element, *DOCX_HEADING_FONT)

    small = styles.add_style("Hotline Small", WD_STYLE_TYPE.PARAGRAPH)
    small.base_style = normal
    small.font.size = Pt(9)  # 小五
    small.font.color.rgb = RGBColor(0x40, 0x40, 0x40)


def _docx_footer(section: Any, sheet: OrderSheet) -> None:
    from docx.enum.text import WD_TAB_ALIGNMENT
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Cm

    paragraph = section.footer.paragraphs[0]
    paragraph.style = "Hotline Small"
    paragraph.paragraph_format.tab_stops.add_tab_stop(Cm(17), WD_TAB_ALIGNMENT.RIGHT)
    paragraph.add_run(sheet.footer + "\t")
    before, _sep, after = (pgettext("order form", "Page %(page)s") % {"page": "\x00"}).partition("\x00")
    paragraph.add_run(before)
    field_ = OxmlElement("w:fldSimple")
    field_.set(qn("w:instr"), "PAGE")
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = "1"
    run.append(text)
    field_.append(run)
    paragraph._p.append(field_)
    paragraph.add_run(after)


def _docx_table(document: Any, widths: tuple[Any, ...]) -> Any:
    """A bordered table with fixed column widths (in the grid too: LibreOffice reads those)."""
    from docx.enum.table import WD_TABLE_ALIGNMENT

    table = document.add_table(rows=0, cols=len(widths))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    for column, width in zip(table.columns, widths, strict=True):
        column.width = width
    table._hotline_widths = widths
    return table


def _docx_row(table: Any, *, min_height: Any = None) -> list[Any]:
    from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_ROW_HEIGHT_RULE

    row = table.add_row()
    if min_height is not None:
        row.height = min_height
        row.height_rule = WD_ROW_HEIGHT_RULE.AT_LEAST
    cells = list(row.cells)
    for cell, width in zip(cells, table._hotline_widths, strict=True):
        cell.width = width
        cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER
    return cells


def order_docx(*, order: WorkOrder, user: Any) -> bytes:
    """The order as a Word document (.docx), laid out as the printed 12345 work-order form."""
    with translation.override(DOCUMENT_LANGUAGE):
        return sheet_docx(order_sheet(order=order, user=user))


def sheet_docx(sheet: OrderSheet) -> bytes:
    from docx import Document
    from docx.shared import Cm

    document = Document()
    _docx_styles(document)
    section = document.sections[0]
    section.page_width, section.page_height = Cm(21), Cm(29.7)
    section.left_margin = section.right_margin = Cm(2)
    section.top_margin, section.bottom_margin = Cm(2.2), Cm(2)
    document.core_properties.title = f"{sheet.title} {sheet.number}"
    document.core_properties.author = sheet.exported_by
    document.core_properties.language = "zh-CN"

    document.add_paragraph(sheet.title, style="Hotline Title")

    form = _docx_table(document, (Cm(2.8), Cm(5.7), Cm(2.8), Cm(5.7)))
    for pairs in sheet.rows:
        cells = _docx_row(form, min_height=Cm(0.8))
        if len(pairs) == 1:
            (label, value) = pairs[0]
            _docx_text(cells[0], label, style="Hotline Label")
            _docx_shade(cells[0], LABEL_FILL)
            _docx_text(cells[1].merge(cells[3]), value)
        else:
            for offset, (label, value) in zip((0, 2), pairs, strict=True):
                _docx_text(cells[offset], label, style="Hotline Label")
                _docx_shade(cells[offset], LABEL_FILL)
                _docx_text(cells[offset + 1], value)

    h = sheet.headings
    document.add_paragraph(h["instructions"], style="Hotline Heading")
    if sheet.instructions:
        notes = _docx_table(document, (Cm(4.2), Cm(12.8)))
        for item in sheet.instructions:
            cells = _docx_row(notes, min_height=Cm(0.8))
            _docx_text(cells[0], f"{item.leader}\n{item.at}", style="Hotline Label")
            _docx_text(cells[1], item.text, bold=True)
            for cell in cells:
                _docx_shade(cell, INSTRUCTION_FILL)
    else:
        document.add_paragraph(h["none"])

    document.add_paragraph(h["history"], style="Hotline Heading")
    keys = ("time", "step", "unit", "person", "notes")
    history = _docx_table(document, (Cm(3.4), Cm(2.2), Cm(3.3), Cm(1.9), Cm(6.2)))
    head = _docx_row(history, min_height=Cm(0.7))
    _docx_repeat_header(history.rows[0])
    for cell, key in zip(head, keys, strict=True):
        _docx_text(cell, h[key], style="Hotline Label")
        _docx_shade(cell, LABEL_FILL)
    for row in sheet.history:
        cells = _docx_row(history, min_height=Cm(0.7))
        for cell, value in zip(cells, (row.at, row.step, row.unit, row.person, row.notes), strict=True):
            _docx_text(cell, value, bold=row.instruction)
            if row.instruction:
                _docx_shade(cell, INSTRUCTION_FILL)

    _docx_footer(section, sheet)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


# --- PDF -------------------------------------------------------------------------------------------

# TrueType CJK fonts from Debian packages (reportlab embeds TrueType outlines only, not the CFF
# outlines of Noto CJK). Body: AR PL UMing (明体/宋体 style, fonts-arphic-uming); headings:
# WenQuanYi Zen Hei (黑体 style, fonts-wqy-zenhei). Either serves for both when the other is missing.
PDF_BODY_FONTS = (
    "/usr/share/fonts/truetype/arphic/uming.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
)
PDF_HEADING_FONTS = (
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
)
PDF_FONT_PACKAGES = "fonts-arphic-uming fonts-wqy-zenhei"
_pdf_lock = threading.Lock()
_pdf_fonts: tuple[str, str] | None = None


class PdfFontMissing(RuntimeError):
    """No Chinese TrueType font is installed (``scripts/system-deps.sh run`` installs them)."""


def _register(name: str, candidates: Iterable[str]) -> str | None:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    for path in candidates:
        if Path(path).is_file():
            pdfmetrics.registerFont(TTFont(name, path, subfontIndex=0))
            return name
    return None


def pdf_font_available() -> bool:
    """Whether a Chinese TrueType font for PDF exports is installed."""
    return any(Path(path).is_file() for path in PDF_BODY_FONTS)


def pdf_fonts() -> tuple[str, str]:
    """The registered (body, heading) font names; registered once per process."""
    global _pdf_fonts
    with _pdf_lock:
        if _pdf_fonts is None:
            body = _register("HotlineBody", PDF_BODY_FONTS)
            heading = _register("HotlineHeading", PDF_HEADING_FONTS)
            if body is None or heading is None:
                raise PdfFontMissing(f"no Chinese TrueType font found; install {PDF_FONT_PACKAGES}")
            _pdf_fonts = (body, heading)
        return _pdf_fonts


def _markup(text: str) -> str:
    return escape(text or "").replace("\n", "<br/>")


def order_pdf(*, order: WorkOrder, user: Any) -> bytes:
    """The order as PDF: the same form as the Word document, with the Chinese fonts embedded."""
    pdf_fonts()  # fail before the audited read if the fonts are missing
    with translation.override(DOCUMENT_LANGUAGE):
        return sheet_pdf(order_sheet(order=order, user=user))


def sheet_pdf(sheet: OrderSheet) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.enums import TA_CENTER
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Table, TableStyle

    body_font, heading_font = pdf_fonts()
    body = ParagraphStyle("body", fontName=body_font, fontSize=10.5, leading=15, wordWrap="CJK")
    bold = ParagraphStyle("bold", parent=body, fontName=heading_font)
    label = ParagraphStyle("label", parent=body, fontName=heading_font)
    title = ParagraphStyle(
        "title", fontName=heading_font, fontSize=18, leading=26, alignment=TA_CENTER, spaceAfter=10
    )
    heading = ParagraphStyle(
        "heading", fontName=heading_font, fontSize=13, leading=18, spaceBefore=10, spaceAfter=5
    )
    grey = colors.HexColor("#" + LABEL_FILL)
    yellow = colors.HexColor("#" + INSTRUCTION_FILL)

    def p(text: str, style: ParagraphStyle = body) -> Paragraph:
        return Paragraph(_markup(text), style)

    grid = [
        ("GRID", (0, 0), (-1, -1), 0.6, colors.black),
        ("FONTNAME", (0, 0), (-1, -1), body_font),  # else tables set Helvetica, not embedded
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
    ]
    story: list[Any] = [p(sheet.title, title)]

    data: list[list[Any]] = []
    commands: list[tuple[Any, ...]] = list(grid)
    for index, pairs in enumerate(sheet.rows):
        if len(pairs) == 1:
            (name, value) = pairs[0]
            data.append([p(name, label), p(value), "", ""])
            commands.append(("SPAN", (1, index), (3, index)))
            commands.append(("BACKGROUND", (0, index), (0, index), grey))
        else:
            (name1, value1), (name2, value2) = pairs
            data.append([p(name1, label), p(value1), p(name2, label), p(value2)])
            commands.append(("BACKGROUND", (0, index), (0, index), grey))
            commands.append(("BACKGROUND", (2, index), (2, index), grey))
    story.append(Table(data, colWidths=[26 * mm, 59 * mm, 26 * mm, 59 * mm], style=TableStyle(commands)))

    h = sheet.headings
    story.append(p(h["instructions"], heading))
    if sheet.instructions:
        rows = [[p(f"{i.leader}\n{i.at}", label), p(i.text, bold)] for i in sheet.instructions]
        style = TableStyle([*grid, ("BACKGROUND", (0, 0), (-1, -1), yellow)])
        story.append(Table(rows, colWidths=[40 * mm, 130 * mm], style=style))
    else:
        story.append(p(h["none"]))

    story.append(p(h["history"], heading))
    small = ParagraphStyle("small", parent=body, fontSize=9.5, leading=13)
    small_bold = ParagraphStyle("small_bold", parent=small, fontName=heading_font)
    head = [p(h[key], label) for key in ("time", "step", "unit", "person", "notes")]
    rows = [head]
    commands = [*grid, ("BACKGROUND", (0, 0), (-1, 0), grey)]
    for index, row in enumerate(sheet.history, start=1):
        style = small_bold if row.instruction else small
        rows.append([p(v, style) for v in (row.at, row.step, row.unit, row.person, row.notes)])
        if row.instruction:
            commands.append(("BACKGROUND", (0, index), (-1, index), yellow))
    widths = [33 * mm, 22 * mm, 33 * mm, 19 * mm, 63 * mm]
    story.append(Table(rows, colWidths=widths, repeatRows=1, style=TableStyle(commands)))

    page_label = pgettext("order form", "Page %(page)s")

    def footer(canvas: Any, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont(body_font, 8)
        canvas.setFillColor(colors.HexColor("#404040"))
        canvas.drawString(20 * mm, 12 * mm, sheet.footer)
        canvas.drawRightString(190 * mm, 12 * mm, page_label % {"page": doc.page})
        canvas.restoreState()

    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        topMargin=20 * mm,
        bottomMargin=20 * mm,
        title=f"{sheet.title} {sheet.number}",
        author=sheet.exported_by,
        creator="Hotline",
        lang="zh-CN",
        initialFontName=body_font,
    )
    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return out.getvalue()


# --- Lists: Excel ----------------------------------------------------------------------------------

LIST_FILTERS = (
    "state",
    "unit",
    "category",
    "channel",
    "number",
    "phone",
    "since",
    "until",
    "deadline_level",
    "q",
)


def _when(value: str, field_name: str) -> datetime:
    """A datetime or a date (midnight) from a query parameter; naive values are Asia/Shanghai."""
    text = value.strip()
    try:
        moment = parse_datetime(text)
        if moment is None:
            day: date | None = parse_date(text)
            moment = datetime.combine(day, time.min) if day is not None else None
    except ValueError:
        moment = None
    if moment is None:
        raise ValidationFailed(
            "A date is not valid.", fields={field_name: ["use YYYY-MM-DD or an ISO datetime"]}
        )
    if timezone.is_naive(moment):
        moment = moment.replace(tzinfo=SHANGHAI)
    return moment


def filter_orders(qs: QuerySet[WorkOrder], params: Mapping[str, str]) -> QuerySet[WorkOrder]:
    """The filters of the order list (``api.order_list``) from query parameters, applied to an
    already scoped ``qs``."""
    get = {key: (params.get(key) or "").strip() for key in LIST_FILTERS}
    level = None
    if get["deadline_level"]:
        try:
            level = int(get["deadline_level"])
        except ValueError:
            raise ValidationFailed(
                "The deadline level is not valid.", fields={"deadline_level": ["0, 70, 90 or 100"]}
            ) from None
    return orders_filter(
        qs,
        OrderFilter(
            states=tuple(filter(None, get["state"].split(","))),
            unit_code=get["unit"],
            category_code=get["category"],
            channel=get["channel"],
            number=get["number"],
            phone=get["phone"],
            since=_when(get["since"], "since") if get["since"] else None,
            until=_when(get["until"], "until") if get["until"] else None,
            deadline_level=level,
            q=get["q"],
        ),
    )


def _paths(rows: Iterable[tuple[int, str, int | None]], *, skip_root: bool = False) -> dict[int, str]:
    """``{id: "a / b / c"}`` for a tree given as (id, name, parent id) rows."""
    nodes = {pk: (name, parent) for pk, name, parent in rows}
    cache: dict[int, str] = {}

    def path(pk: int) -> str:
        if pk in cache:
            return cache[pk]
        names: list[str] = []
        node: int | None = pk
        seen: set[int] = set()
        while node is not None and node in nodes and node not in seen:
            seen.add(node)
            name, parent = nodes[node]
            if not (skip_root and parent is None and names):
                names.append(name)
            node = parent
        cache[pk] = " / ".join(reversed(names))
        return cache[pk]

    for pk in nodes:
        path(pk)
    return cache


def _list_columns() -> list[tuple[str, int]]:
    """(header, width in characters) of the spreadsheet, as on the list screens."""
    return [
        (pgettext("order form", "Order number"), 16),
        (pgettext("order form", "Received"), 17),
        (pgettext("order form", "Channel"), 10),
        (pgettext("order form", "Request type"), 10),
        (pgettext("order form", "Category"), 36),
        (pgettext("order form", "Title"), 36),
        (pgettext("order form", "Phone"), 15),
        (pgettext("order form", "Region"), 22),
        (pgettext("order form", "Lead unit"), 22),
        (pgettext("order form", "State"), 12),
        (pgettext("order form", "Due"), 17),
        (pgettext("order form", "Deadline level"), 12),
        (pgettext("order form", "Result"), 12),
        (pgettext("order form", "Satisfaction"), 12),
    ]


@dataclass(frozen=True)
class ListExport:
    content: bytes
    rows: int  # orders written
    cut: bool  # more orders matched than the limit


def orders_xlsx(queryset: QuerySet[WorkOrder], user: Any, *, limit: int = XLSX_MAX_ROWS) -> bytes:
    """The orders of ``queryset`` as an Excel workbook (see ``orders_workbook``)."""
    return orders_workbook(queryset, user, limit=limit).content


def orders_workbook(queryset: QuerySet[WorkOrder], user: Any, *, limit: int = XLSX_MAX_ROWS) -> ListExport:
    """The orders of ``queryset`` (already scoped and filtered) as an Excel workbook: one header
    row (frozen, with an auto-filter), one row per order, phones masked, times in Asia/Shanghai.
    Written row by row (openpyxl's write-only mode); after ``limit`` orders a note row says the
    list was cut."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    columns = _list_columns()
    workbook = Workbook(write_only=True)
    workbook.properties.creator = getattr(user, "display_name", "") or str(user)
    workbook.properties.title = str(WorkOrder._meta.verbose_name_plural)
    sheet = workbook.create_sheet(title=str(WorkOrder._meta.verbose_name_plural)[:31])
    for index, (_header, width) in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"

    header_font = Font(bold=True)
    header_fill = PatternFill("solid", fgColor="DDEBF7")
    headers = []
    for header, _width in columns:
        cell = WriteOnlyCell(sheet, value=header)
        cell.font = header_font
        cell.fill = header_fill
        cell.alignment = Alignment(vertical="center")
        headers.append(cell)
    sheet.append(headers)

    categories = _paths(Category.objects.values_list("id", "name", "parent_id"))
    regions = _paths(Region.objects.values_list("id", "name", "parent_id"), skip_root=True)
    types = dict(RequestType.objects.values_list("id", "name"))
    channel = {k: str(v) for k, v in Channel.choices}  # labels translated once, not per row
    state = {k: str(v) for k, v in OrderState.choices}
    level = {k: str(v) for k, v in DeadlineLevel.choices}
    result = {k: str(v) for k, v in Result.choices}
    satisfaction = {k: str(v) for k, v in Satisfaction.choices}
    date_format = "yyyy-mm-dd hh:mm"

    def when(value: datetime | None) -> Any:
        if value is None:
            return None
        cell = WriteOnlyCell(
            sheet, value=timezone.localtime(value, SHANGHAI).replace(tzinfo=None, microsecond=0)
        )
        cell.number_format = date_format
        return cell

    # plain tuples, not model instances: a list of 100,000 orders stays quick
    rows = queryset.order_by("-created_at", "-id").values_list(
        "number", "created_at", "channel", "request_type_id", "category_id", "title", "citizen_phone",
        "region_id", "lead_unit__name", "state", "due_at", "deadline_level", "result", "satisfaction",
    )  # fmt: skip
    written = 0
    cut = False
    for row in rows[: limit + 1].iterator(chunk_size=2000):
        if written == limit:
            cut = True
            break
        (number, received, channel_, type_id, category_id, title, phone, region_id, lead_unit, state_,
         due, level_, result_, satisfaction_) = row  # fmt: skip
        sheet.append(
            [
                number,
                when(received),
                channel.get(channel_, channel_),
                types.get(type_id, ""),
                categories.get(category_id, "") if category_id else "",
                title,
                mask_phone(phone),
                regions.get(region_id, "") if region_id else "",
                lead_unit or "",
                state.get(state_, state_),
                when(due),
                level.get(level_, str(level_)),
                result.get(result_, result_),
                satisfaction.get(satisfaction_, satisfaction_),
            ]
        )
        written += 1
    last_column = get_column_letter(len(columns))
    sheet.auto_filter.ref = f"A1:{last_column}{written + 1}"
    if cut:
        sheet.append([])
        note = WriteOnlyCell(
            sheet,
            value=pgettext(
                "order form",
                "Only the first %(count)s orders are exported; narrow the filters to see the rest.",
            )
            % {"count": f"{limit:,}"},
        )
        note.font = Font(bold=True, color="C00000")
        sheet.append([note])
    out = io.BytesIO()
    workbook.save(out)
    return ListExport(content=out.getvalue(), rows=written, cut=cut)
