from django.urls import path

from . import views

urlpatterns = [
    path("", views.budget_overview, name="budget-overview"),
    path("lines/new/", views.line_create, name="budget-line-create"),
    path("lines/<int:pk>/", views.line_detail, name="budget-line-detail"),
    path("lines/<int:pk>/modify/", views.line_modify, name="budget-line-modify"),
    path("lines/<int:pk>/expenditures/", views.line_expenditure, name="budget-line-expenditure"),
]
