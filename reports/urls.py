"""Web pages of the reports, mounted at ``/reports/``."""

from django.urls import path, re_path

from . import views

app_name = "reports"
urlpatterns = [
    path("", views.budget_execution_page, name="budget-execution"),
    re_path(
        r"^(?P<fiscal_year>[0-9]{4})/ejecucion-presupuestaria\.(?P<fmt>xlsx|pdf|csv|json)$",
        views.budget_execution_file,
        name="budget-execution-file",
    ),
    path("metas/", views.attainment_page, name="attainment"),
    path("auditoria/", views.checkpoints_page, name="checkpoints"),
    re_path(r"^auditoria/claves/(?P<key_id>[0-9a-f]{16})\.pem$", views.checkpoint_key, name="checkpoint-key"),
    path("auditoria/verifier.py", views.verifier_file, name="verifier"),
    re_path(
        r"^(?P<fiscal_year>[0-9]{4})/metas-y-resultados\.(?P<fmt>xlsx|pdf|csv|json)$",
        views.attainment_file,
        name="attainment-file",
    ),
    re_path(
        r"^(?P<fiscal_year>[0-9]{4})/metas/(?P<scope>[A-Za-z0-9_-]+)/(?P<indicator>[a-z_]+)/$",
        views.attainment_cases_page,
        name="attainment-cases",
    ),
    re_path(
        r"^(?P<fiscal_year>[0-9]{4})/(?P<dimension>program|source)/(?P<code>[A-Za-z0-9_-]+)/$",
        views.execution_movements_page,
        name="execution-movements",
    ),
]
