"""The monthly report by e-mail (R6, docs/reports.md).

Early each month the jobs process calls ``send_monthly_reports(now=…)``: last month's department
assessment, volume (by channel and by type) and call summary (per queue) go as one Excel workbook
and one PDF, attached to one e-mail per active ``ReportRecipient``, in Chinese whatever the
recipient's screen language. Each delivery writes an audit row (action ``export``, object
``reports.monthlyreport``, id ``<month>:<recipient id>``); a recipient who already has this month's
row is skipped, so running it again — after a crash, or twice by mistake — sends nothing twice,
while a recipient whose delivery failed is tried again on the next run.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.utils import translation
from django.utils.translation import gettext as _

from hotline.audit.models import AuditAction, AuditEvent
from hotline.audit.services import audit_record
from hotline.workorders.exports import PdfFontMissing, city_name

from . import calls, exports, orders
from .models import ReportRecipient
from .periods import Period, last_month
from .tables import Table, format_value

logger = logging.getLogger(__name__)

MAIL_LANGUAGE = "zh-hans"
AUDIT_TYPE = "reports.monthlyreport"


def monthly_tables(month: Period) -> list[Table]:
    """The tables of the monthly report, city-wide: assessment, volume by channel and by type,
    the call summary per queue."""
    scheme = orders.scheme_in_use()
    start, end = month.start, month.end
    return [
        orders.assessment(start=start, end=end, scheme=scheme, parent_unit=None, user=None),
        orders.volume(start=start, end=end, by="channel"),
        orders.volume(start=start, end=end, by="type"),
        calls.queue_report(start=start, end=end, by="queue"),
    ]


def _address(recipient: ReportRecipient) -> str:
    if recipient.email:
        return recipient.email
    user = recipient.user
    if user is None or not user.is_active:
        return ""
    return str(user.email or "")


def _sent_key(month: Period, recipient: ReportRecipient) -> str:
    return f"{month.month_label}:{recipient.pk}"


def _total_line(table: Table, key: str) -> str:
    if table.total is None:
        return ""
    for column in table.columns:
        if column.key == key:
            return f"{column.label}：{format_value(column.kind, table.total.values.get(key))}"
    return ""


def _body(month: Period, tables: list[Table], *, with_pdf: bool) -> str:
    assessment, by_channel = tables[0], tables[1]
    lines = [
        _("Hello,"),
        "",
        _("Attached is the monthly report of the 12345 hotline for %(month)s (%(range)s):")
        % {"month": month.month_label, "range": f"{month.first.isoformat()} – {month.last.isoformat()}"},
        "",
    ]
    first_int = next((c.key for c in by_channel.columns if c.kind == "int"), "")
    volume_line = _total_line(by_channel, first_int) if first_int else ""
    if volume_line:
        received = _("Orders received")
        lines.append(f"· {received}: {volume_line}")
    lines.append(
        "· "
        + _("%(count)s units assessed; first: %(first)s")
        % {"count": len(assessment.rows), "first": assessment.rows[0].label if assessment.rows else "—"}
    )
    lines += [
        "",
        _("The workbook (Excel) holds every table; the PDF is the printed form.")
        if with_pdf
        else _("The workbook (Excel) holds every table; the PDF could not be made on the server."),
        "",
        _("The numbers behind each figure can be opened in the platform: %(url)s")
        % {"url": f"{settings.HOTLINE_SITE_URL}/reports/"},
    ]
    return "\n".join(lines)


def send_monthly_reports(*, now: datetime) -> int:
    """Send last month's report to every active recipient that has not had it; returns how many
    e-mails were sent."""
    month = last_month(now)
    recipients = [
        r for r in ReportRecipient.objects.filter(active=True).select_related("user").order_by("pk")
    ]
    sent_keys = set(
        AuditEvent.objects.filter(
            object_type=AUDIT_TYPE, object_id__in=[_sent_key(month, r) for r in recipients]
        ).values_list("object_id", flat=True)
    )
    due = [(r, _address(r)) for r in recipients if _sent_key(month, r) not in sent_keys]
    due = [(r, address) for r, address in due if address]
    if not due:
        return 0
    with translation.override(MAIL_LANGUAGE):
        tables = monthly_tables(month)
        xlsx = exports.tables_xlsx(tables, now=now)
        pdf: bytes | None
        try:
            pdf = exports.tables_pdf(tables, now=now)
        except PdfFontMissing:
            logger.warning("monthly report: no Chinese font for the PDF; sending the workbook only")
            pdf = None
        city = city_name()
        subject = (
            _("%(city)s 12345 hotline monthly report %(month)s") % {"city": city, "month": month.month_label}
        ).strip()
        body = _body(month, tables, with_pdf=pdf is not None)
        base = _("12345 monthly report %(month)s") % {"month": month.month_label}
    sent = 0
    connection: Any = get_connection()
    try:
        connection.open()
        for recipient, address in due:
            message = EmailMessage(subject=subject, body=body, to=[address], connection=connection)
            message.attach(f"{base}.xlsx", xlsx, exports.XLSX_TYPE)
            if pdf is not None:
                message.attach(f"{base}.pdf", pdf, exports.PDF_TYPE)
            try:
                message.send()
            except Exception:  # one bad address or a dropped connection must not stop the others
                logger.exception("monthly report to %s failed", address)
                continue
            audit_record(
                action=AuditAction.EXPORT,
                object_type=AUDIT_TYPE,
                object_id=_sent_key(month, recipient),
                object_repr=str(base)[:200],
                after={"to": address, "month": month.month_label, "pdf": pdf is not None},
                note="monthly report e-mailed",
            )
            sent += 1
    finally:
        connection.close()
    return sent
