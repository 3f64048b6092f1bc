from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csp import csp_override
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from cases import views as cases_views
from cases.api import OfficialDocumentVerifyView

from . import api, caselist, imports, jobpages, views

# The admin in Spanish (English if chosen), not "Django administration".
admin.site.site_header = _("Expediente administration · PRO-BOLIVIA")
admin.site.site_title = _("Expediente administration")
admin.site.index_title = _("Data and settings")

# Error pages in the site's layout and language; JSON under /api/ (expediente/errors.py).
handler400 = "expediente.errors.bad_request"
handler403 = "expediente.errors.permission_denied"
handler404 = "expediente.errors.page_not_found"
handler500 = "expediente.errors.server_error"

# Swagger UI: its script from a URL of its own (the split view), its styles inline, so this page
# alone allows inline styles (the site's policy otherwise: settings.SECURE_CSP).
_api_docs = SpectacularSwaggerSplitView.as_view(url_name="api-schema")
if settings.SECURE_CSP:
    _docs_policy: dict = {**settings.SECURE_CSP, "style-src": [CSP.SELF, CSP.UNSAFE_INLINE]}
    _api_docs = csp_override(_docs_policy)(_api_docs)

api_v1 = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", _api_docs, name="api-docs"),
    path("", include("registry.api_urls")),
    path("budget/", include("budget.api_urls")),
    path("audit/", include("audit.api_urls")),
    path("", include("approvals.api_urls")),
    path("", include("iniciativas.api_urls")),
    path("", include("transfers.api_urls")),
    path("", include("registrations.api_urls")),
    path("", include("compensations.api_urls")),
    path(
        "official-documents/verify/",
        OfficialDocumentVerifyView.as_view(),
        name="official-document-verify",
    ),
    path("reports/", include("reports.api_urls")),
    path("goals/", include("reports.goals_api_urls")),
    re_path(r"^.*$", api.not_found),  # last: an unknown API path is a JSON 404
]

urlpatterns = [
    path("api/v1/", include(api_v1)),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("audit/", include("audit.urls")),
    path("budget/", include("budget.urls")),
    path("tasks/", include("approvals.urls")),
    path("config/", include("approvals.config_urls")),
    path("initiatives/", include("iniciativas.urls")),
    path("calls/", include("iniciativas.call_urls")),
    path("transfers/", include("transfers.urls")),
    path("registrations/", include("registrations.urls")),
    path("compensations/", include("compensations.urls")),
    path("reports/", include("reports.urls")),
    path("flows/", include("workflows.urls")),
    path("cases/", caselist.case_list, name="case-list"),
    path("documents/verify/", cases_views.verify_document, name="official-document-page"),
    path("cases/export.xlsx", caselist.case_list_export, name="case-list-export"),
    path("cases/export/", caselist.case_list_export_job, name="case-list-export-job"),
    path("jobs/<int:pk>/", jobpages.job_detail, name="job-detail"),
    path("jobs/<int:pk>/file", jobpages.job_file, name="job-file"),
    path("imports/", imports.import_index, name="import-index"),
    path("imports/<str:name>/new/", imports.import_start, name="import-start"),
    path("imports/<str:name>/template.csv", imports.import_template, name="import-template"),
    path("imports/jobs/<int:pk>/", imports.import_job, name="import-job"),
    path("imports/jobs/<int:pk>/write/", imports.import_write, name="import-write"),
    path("", views.home, name="home"),
    path("", include("registry.urls")),
]
