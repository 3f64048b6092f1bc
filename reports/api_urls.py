from django.urls import path

from .api import BudgetExecutionView

urlpatterns = [
    path("budget-execution/", BudgetExecutionView.as_view(), name="api-budget-execution"),
]
