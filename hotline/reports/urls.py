"""The report screens (docs/measures.md, docs/reports.md)."""

app_name = "reports"
urlpatterns: list = []  # type: ignore[type-arg]
