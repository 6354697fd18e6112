from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from django.views.generic import RedirectView

from hotline.core.api import api, register_routers
from hotline.core.permissions import public_view

register_routers()

admin.site.site_header = _("12345 Government Service Hotline")
admin.site.site_title = _("12345 Government Service Hotline")
admin.site.index_title = _("Administration")

urlpatterns = [
    path("api/v1/", api.urls),
    path(
        "api/docs",
        public_view(RedirectView.as_view(url="/api/v1/docs", permanent=False)),
        name="api-docs",
    ),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("accounts/", include("hotline.accounts.urls")),
    path("callcenter/", include("hotline.callcenter.urls")),
    path("notify/", include("hotline.notify.urls")),
    path("orders/export/", include("hotline.workorders.export_urls")),
    path("orders/", include("hotline.workorders.urls")),
    path("portal/", include("hotline.portal.urls")),
    path("reports/", include("hotline.reports.urls")),
    path("telephony/", include("hotline.telephony.urls")),
    path("", include("hotline.core.urls")),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
