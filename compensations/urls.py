from django.urls import path

from . import views

urlpatterns = [
    path("", views.agreement_list, name="compensation-list"),
    path("<int:pk>/", views.agreement_detail, name="compensation-detail"),
    path("<int:pk>/declare/", views.declare, name="compensation-declare"),
    path("settlements/<int:pk>/", views.settlement_detail, name="settlement-detail"),
]
