"""The report screens (docs/reports.md, docs/measures.md)."""

from django.urls import path, re_path

from . import views

app_name = "reports"
urlpatterns = [
    path("", views.index, name="index"),
    path("assessment/", views.assessment, name="assessment"),
    path("orders/", views.order_report, name="orders"),
    path("volume/", views.volume, name="volume"),
    path("summary/", views.summary, name="summary"),
    path("agents/", views.agents, name="agents"),
    path("queues/", views.queues, name="queues"),
    path("trunks/", views.trunks, name="trunks"),
    path("drill/", views.drill, name="drill"),
    path("drill.xlsx", views.drill_xlsx, name="drill_xlsx"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("dashboard/data/", views.dashboard_data, name="dashboard_data"),
    re_path(r"^(?P<slug>[a-z]+)\.(?P<fmt>xlsx|pdf)$", views.export, name="export"),
]
