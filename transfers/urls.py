"""Web pages of transfers, mounted at ``/transfers/``."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.transfer_list, name="transfer-list"),
    path("new/", views.transfer_create, name="transfer-create"),
    path("<int:pk>/", views.transfer_detail, name="transfer-detail"),
    path("<int:pk>/annul/", views.transfer_annul, name="transfer-annul"),
]
