"""Web pages of productive initiatives, mounted at ``/initiatives/``."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.initiative_list, name="initiative-list"),
    path("new/", views.initiative_create, name="initiative-create"),
    path("<int:pk>/", views.initiative_detail, name="initiative-detail"),
    path("<int:pk>/edit/", views.initiative_edit, name="initiative-edit"),
    path("<int:pk>/documents/", views.document_upload, name="initiative-upload"),
    path("<int:pk>/documents/<int:doc_pk>/", views.document_download, name="initiative-document"),
    path("<int:pk>/answer/", views.initiative_answer, name="initiative-answer"),
    path("<int:pk>/submit/", views.initiative_submit, name="initiative-submit"),
    path("<int:pk>/withdraw/", views.initiative_withdraw, name="initiative-withdraw"),
    path("<int:pk>/cancel/", views.initiative_cancel, name="initiative-cancel"),
    path("<int:pk>/recover/", views.initiative_recover, name="initiative-recover"),
    path("<int:pk>/official/<str:number>/", views.official_download, name="initiative-official"),
    path("<int:pk>/official/<str:number>/scan/", views.official_scan, name="initiative-official-scan"),
    path(
        "<int:pk>/official/<str:number>/scan/upload/",
        views.official_scan_upload,
        name="initiative-official-scan-upload",
    ),
]
