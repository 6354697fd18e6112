"""The contact centre's live screens: the agent desktop, the supervisor wall and the test phone
(docs/desktop.md)."""

from django.urls import path

from . import views_desk, views_wall

app_name = "callcenter"
urlpatterns = [
    path("desk/", views_desk.desk, name="desk"),
    path("desk/callbacks/", views_desk.desk_callbacks, name="desk_callbacks"),
    path("desk/intake/", views_desk.desk_intake, name="desk_intake"),
    path("desk/revisit/<str:number>/dial/", views_desk.desk_revisit_dial, name="desk_revisit_dial"),
    path("voicemails/<int:pk>/audio", views_desk.desk_voicemail_audio, name="voicemail_audio"),
    path("wall/", views_wall.wall, name="wall"),
    path("wall/stats/", views_wall.wall_stats, name="wall_stats"),
    path("phone/", views_wall.phone, name="phone"),
]
