"""Task inbox pages, mounted at ``/tasks/`` (names are global: ``task-inbox``, ``task-detail``…)."""

from django.urls import path

from . import views

urlpatterns = [
    # The lists ("Mis tareas", "Disponibles", "Realizadas por mí").
    path("", views.task_list, {"tab": "mine"}, name="task-inbox"),
    path("available/", views.task_list, {"tab": "available"}, name="task-available"),
    path("done/", views.task_list, {"tab": "done"}, name="task-done"),
    # Overdue tasks escalated to a role the user holds ("Escaladas"), to reassign.
    path("escalated/", views.task_list, {"tab": "escalated"}, name="task-escalated"),
    # One task: the decision page (GET shows it, POST decides), claim and release (POST).
    path("<int:pk>/", views.task_detail, name="task-detail"),
    path("<int:pk>/claim/", views.task_claim, name="task-claim"),
    path("<int:pk>/release/", views.task_release, name="task-release"),
    # The declaration of conflict of interest before a technical evaluation (POST).
    path("<int:pk>/declare/", views.task_declare, name="task-declare"),
    path("<int:pk>/reassign/", views.task_reassign, name="task-reassign"),
]

# Delegation of one's inbox and one's notifications (approvals/delegation_views.py).
from . import delegation_views  # noqa: E402

urlpatterns += [
    path("delegations/", delegation_views.delegation_list, name="delegation-list"),
    path("delegations/<int:pk>/revoke/", delegation_views.delegation_revoke, name="delegation-revoke"),
    path("notifications/", delegation_views.notification_list, name="notification-list"),
    path("notifications/<int:pk>/open/", delegation_views.notification_open, name="notification-open"),
    path("notifications/read-all/", delegation_views.notification_read_all, name="notification-read-all"),
]
