"""Web pages of the reports, mounted at ``/reports/``."""

from django.urls import path, re_path

from . import goals_views, views

app_name = "reports"
urlpatterns = [
    path("", views.budget_execution_page, name="budget-execution"),
    re_path(
        r"^(?P<fiscal_year>[0-9]{4})/ejecucion-presupuestaria\.(?P<fmt>xlsx|pdf|csv|json)$",
        views.budget_execution_file,
        name="budget-execution-file",
    ),
    re_path(
        r"^(?P<fiscal_year>[0-9]{4})/movimientos\.(?P<fmt>csv|xlsx)$",
        views.execution_movements_file,
        name="movements-file",
    ),
    path("exportar/", views.report_export_job, name="export-job"),
    path("metas/", views.attainment_page, name="attainment"),
    path("beneficiarios/", views.beneficiaries_page, name="beneficiaries"),
    path("beneficiarios/casos/", views.beneficiary_cases_page, name="beneficiary-cases"),
    path("poa/", goals_views.plan_page, name="plan"),
    path("poa/nueva/", goals_views.goal_create, name="goal-create"),
    path("poa/<int:pk>/", goals_views.goal_page, name="goal"),
    path("poa/<int:pk>/avance/", goals_views.goal_progress, name="goal-progress"),
    path("poa/<int:pk>/avance/<int:entry>/respaldo/", goals_views.evidence_download, name="goal-evidence"),
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
    re_path(
        r"^(?P<fiscal_year>[0-9]{4})/program/(?P<code>[A-Za-z0-9_-]+)/(?P<subprogram>[A-Za-z0-9_-]+)/$",
        views.execution_movements_page,
        {"dimension": "program"},
        name="execution-movements-subprogram",
    ),
]
