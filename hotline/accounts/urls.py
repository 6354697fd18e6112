from django.urls import path

from hotline.core.permissions import public_view

from . import views

app_name = "accounts"
urlpatterns = [
    path("login/", public_view(views.LoginView.as_view()), name="login"),
    path("logout/", views.logout_view, name="logout"),
]
