from django.urls import path

from .goals_api import GoalListView, GoalProgressView

urlpatterns = [
    path("", GoalListView.as_view(), name="api-goals"),
    path("<int:pk>/progress/", GoalProgressView.as_view(), name="api-goal-progress"),
]
