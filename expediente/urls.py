from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from cases.api import OfficialDocumentVerifyView

from . import api, caselist, views

api_v1 = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("", include("registry.api_urls")),
    path("budget/", include("budget.api_urls")),
    path("audit/", include("audit.api_urls")),
    path("", include("approvals.api_urls")),
    path("", include("iniciativas.api_urls")),
    path("", include("transfers.api_urls")),
    path("", include("registrations.api_urls")),
    path(
        "official-documents/verify/",
        OfficialDocumentVerifyView.as_view(),
        name="official-document-verify",
    ),
    path("reports/", include("reports.api_urls")),
    re_path(r"^.*$", api.not_found),  # last: an unknown API path is a JSON 404
]

urlpatterns = [
    path("api/v1/", include(api_v1)),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("audit/", include("audit.urls")),
    path("budget/", include("budget.urls")),
    path("tasks/", include("approvals.urls")),
    path("initiatives/", include("iniciativas.urls")),
    path("transfers/", include("transfers.urls")),
    path("registrations/", include("registrations.urls")),
    path("reports/", include("reports.urls")),
    path("cases/", caselist.case_list, name="case-list"),
    path("cases/export.xlsx", caselist.case_list_export, name="case-list-export"),
    path("", views.home, name="home"),
    path("", include("registry.urls")),
]
