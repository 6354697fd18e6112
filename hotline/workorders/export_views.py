"""Downloads: one order as Word or PDF, a filtered order list as Excel (docs/exports.md).

Every download is scoped like the screens (an order outside the user's scope is 404) and writes
one audit row (action ``export``).
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone, translation
from django.utils.translation import pgettext
from django.views.decorators.http import require_safe

from hotline.core.errors import ValidationFailed
from hotline.core.permissions import view_requires

from . import exports
from .models import WorkOrder
from .selectors import orders_visible_to


def _attachment(content: bytes, content_type: str, filename: str, fallback: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = exports.content_disposition(filename, fallback)
    response["Cache-Control"] = "private, no-store"  # personal data: never kept by proxies
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _visible_order(request: HttpRequest, number: str) -> WorkOrder:
    return get_object_or_404(
        orders_visible_to(request.user).select_related(
            "lead_unit", "request_type", "category__parent__parent", "region"
        ),
        number=number,
    )


def _order_file(
    request: HttpRequest, number: str, *, what: str, render: Callable[..., bytes], content_type: str
) -> HttpResponse:
    order = _visible_order(request, number)
    content = render(order=order, user=request.user)
    exports.record_export(what=what, obj=order)
    with translation.override(exports.DOCUMENT_LANGUAGE):
        name = pgettext("order form", "Work order %(number)s") % {"number": order.number}
    return _attachment(content, content_type, f"{name}.{what}", f"workorder-{order.number}.{what}")


@view_requires("workorders.view_workorder")
@require_safe
def order_docx(request: HttpRequest, number: str) -> HttpResponse:
    """One order as the Word form (工单.docx)."""
    return _order_file(
        request, number, what="docx", render=exports.order_docx, content_type=exports.DOCX_TYPE
    )


@view_requires("workorders.view_workorder")
@require_safe
def order_pdf(request: HttpRequest, number: str) -> HttpResponse:
    """One order as PDF, with the Chinese fonts embedded."""
    try:
        return _order_file(
            request, number, what="pdf", render=exports.order_pdf, content_type=exports.PDF_TYPE
        )
    except exports.PdfFontMissing:
        message = pgettext(
            "order form", "PDF export is not available: the Chinese fonts are not installed on the server."
        )
        return HttpResponse(message, status=503, content_type="text/plain; charset=utf-8")


@view_requires("workorders.view_workorder")
@require_safe
def order_list_xlsx(request: HttpRequest) -> HttpResponse:
    """The orders in the user's scope that match the list filters, as an Excel workbook."""
    try:
        qs = exports.filter_orders(orders_visible_to(request.user), request.GET)
        # evaluate the filters before anything is written, so a bad value is a 400
        result = exports.orders_workbook(qs, request.user)
    except ValidationFailed as error:
        detail = "; ".join(f"{k}: {', '.join(v)}" for k, v in (error.fields or {}).items())
        return HttpResponse(
            f"{error.message} {detail}".strip(), status=400, content_type="text/plain; charset=utf-8"
        )
    used = {key: request.GET[key] for key in exports.LIST_FILTERS if request.GET.get(key)}
    note = "&".join(f"{k}={v}" for k, v in used.items()) or "all"
    exports.record_export(what="xlsx", note=note, count=result.rows)
    stamp = timezone.localtime(timezone.now(), exports.SHANGHAI).strftime("%Y%m%d-%H%M")
    name = pgettext("order form", "Work orders %(time)s") % {"time": stamp}
    return _attachment(result.content, exports.XLSX_TYPE, f"{name}.xlsx", f"workorders-{stamp}.xlsx")
