from django.urls import path

from . import views

app_name = "workorders"
urlpatterns = [
    path("", views.order_list, name="list"),
    path("new/", views.order_new, name="new"),
    path("new/caller/", views.order_caller, name="caller"),
    path("queue/", views.queue, name="queue"),
    path("inbox/", views.inbox, name="inbox"),
    path("leader/", views.leader, name="leader"),
    path("pick/categories/", views.pick_category, name="pick_category"),
    path("pick/regions/", views.pick_region, name="pick_region"),
    path("pick/units/", views.pick_unit, name="pick_unit"),
    path("<str:number>/", views.order_detail, name="detail"),
    path("<str:number>/do/<str:action>/", views.order_act, name="act"),
    path("<str:number>/attachments/<int:pk>/", views.attachment_download, name="attachment"),
]
