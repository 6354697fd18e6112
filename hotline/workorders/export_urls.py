"""Downloads of work orders, under ``/orders/export/`` (included before the order screens)."""

from django.urls import path, re_path

from . import export_views

app_name = "workorder_exports"
urlpatterns = [
    path("list.xlsx", export_views.order_list_xlsx, name="list_xlsx"),
    re_path(r"^(?P<number>[0-9A-Za-z-]{1,20})\.docx$", export_views.order_docx, name="docx"),
    re_path(r"^(?P<number>[0-9A-Za-z-]{1,20})\.pdf$", export_views.order_pdf, name="pdf"),
]
