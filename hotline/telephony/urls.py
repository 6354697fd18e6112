"""The telephony screens: call recordings and the trunk hours (docs/telephony.md)."""

from django.urls import path

from . import views

app_name = "telephony"
urlpatterns = [
    path("recordings/", views.recording_list, name="recordings"),
    path("recordings/<int:pk>/audio", views.recording_audio, name="recording_audio"),
    path("trunks/hours/", views.trunk_hours_view, name="trunk_hours"),
    path("trunks/hours/export.xlsx", views.trunk_hours_xlsx, name="trunk_hours_xlsx"),
]
