from django.urls import path

from . import views

app_name = "workorders"
urlpatterns = [
    path("<str:number>/", views.order_detail, name="detail"),
]
