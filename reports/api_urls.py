from django.urls import path

from .api import AttainmentView, BeneficiariesView, BudgetExecutionView

urlpatterns = [
    path("budget-execution/", BudgetExecutionView.as_view(), name="api-budget-execution"),
    path("attainment/", AttainmentView.as_view(), name="api-attainment"),
    path("beneficiaries/", BeneficiariesView.as_view(), name="api-beneficiaries"),
]
