"""Web pages of transfers, mounted at ``/transfers/``."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.transfer_list, name="transfer-list"),
    path("new/", views.transfer_create, name="transfer-create"),
    path("<int:pk>/", views.transfer_detail, name="transfer-detail"),
    path("<int:pk>/answer/", views.transfer_answer, name="transfer-answer"),
    path("<int:pk>/annul/", views.transfer_annul, name="transfer-annul"),
    path("<int:pk>/documents/", views.document_upload, name="transfer-upload"),
    path("<int:pk>/documents/<int:doc_pk>/", views.document_download, name="transfer-document"),
    path("<int:pk>/official/<str:number>/", views.official_download, name="transfer-official"),
    path("<int:pk>/official/<str:number>/scan/", views.official_scan, name="transfer-official-scan"),
    path(
        "<int:pk>/official/<str:number>/scan/upload/",
        views.official_scan_upload,
        name="transfer-official-scan-upload",
    ),
]
