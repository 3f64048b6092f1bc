"""Configuration pages for administrators, mounted at ``/config/`` (``approvals/config_views.py``)."""

from django.urls import path

from . import config_views as views

urlpatterns = [
    path("", views.config_home, name="config-home"),
    # Approval policies by amount band, as versions.
    path("policies/", views.policy_list, name="config-policy-list"),
    path("policies/new/", views.policy_create, name="config-policy-create"),
    path("policies/<str:family>/", views.policy_detail, name="config-policy-detail"),
    path(
        "policies/<str:family>/versions/<int:version>/activate/",
        views.policy_activate,
        name="config-policy-activate",
    ),
    # Staff: roles, department and program scopes, delegations.
    path("staff/", views.staff_list, name="config-staff-list"),
    path("staff/<int:pk>/", views.staff_detail, name="config-staff-detail"),
    path("staff/<int:pk>/roles/", views.staff_role, name="config-staff-role"),
    path("staff/<int:pk>/departments/", views.staff_department, name="config-staff-department"),
    path("staff/<int:pk>/programs/", views.staff_program, name="config-staff-program"),
    path("staff/<int:pk>/manages/", views.staff_program_management, name="config-staff-manager"),
    path("staff/<int:pk>/delegations/", views.staff_delegation, name="config-staff-delegation"),
    path(
        "staff/<int:pk>/delegations/<int:delegation_pk>/revoke/",
        views.staff_delegation_revoke,
        name="config-staff-delegation-revoke",
    ),
    # Non-working days, national and departmental.
    path("non-working-days/", views.non_working_day_list, name="config-non-working-days"),
    path(
        "non-working-days/<int:pk>/remove/",
        views.non_working_day_remove,
        name="config-non-working-day-remove",
    ),
]
