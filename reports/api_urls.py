from django.urls import path

from .api import AttainmentView, BudgetExecutionView

urlpatterns = [
    path("budget-execution/", BudgetExecutionView.as_view(), name="api-budget-execution"),
    path("attainment/", AttainmentView.as_view(), name="api-attainment"),
]
