from django.urls import path

from . import views

urlpatterns = [
    path("", views.registration_list, name="registration-list"),
    path("new/", views.registration_create, name="registration-create"),
    path("<int:pk>/", views.registration_detail, name="registration-detail"),
    path("<int:pk>/answer/", views.registration_answer, name="registration-answer"),
    path("<int:pk>/documents/", views.document_upload, name="registration-upload"),
    path("<int:pk>/documents/<int:doc_pk>/", views.document_download, name="registration-document"),
    path("<int:pk>/submit/", views.registration_submit, name="registration-submit"),
    path("<int:pk>/withdraw/", views.registration_withdraw, name="registration-withdraw"),
    path("<int:pk>/official/<str:number>/", views.official_download, name="registration-official"),
    path("<int:pk>/official/<str:number>/scan/", views.official_scan, name="registration-official-scan"),
    path(
        "<int:pk>/official/<str:number>/scan/upload/",
        views.official_scan_upload,
        name="registration-official-scan-upload",
    ),
]
