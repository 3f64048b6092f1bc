from django.urls import path

from . import views

urlpatterns = [
    path("", views.agreement_list, name="compensation-list"),
    path("new/", views.agreement_create, name="compensation-create"),
    path("<int:pk>/", views.agreement_detail, name="compensation-detail"),
    path("<int:pk>/declare/", views.declare, name="compensation-declare"),
    path("<int:pk>/close/", views.agreement_close, name="compensation-close"),
    path("<int:pk>/official/<str:number>/", views.official_download, name="compensation-official"),
    path("<int:pk>/official/<str:number>/scan/", views.official_scan, name="compensation-official-scan"),
    path(
        "<int:pk>/official/<str:number>/scan/upload/",
        views.official_scan_upload,
        name="compensation-official-scan-upload",
    ),
    path("settlements/<int:pk>/", views.settlement_detail, name="settlement-detail"),
    path(
        "settlements/<int:pk>/documents/<int:doc_pk>/", views.settlement_document, name="settlement-document"
    ),
]
