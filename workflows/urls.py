from django.urls import path

from . import views

urlpatterns: list = [
    path("", views.flow_index, name="flow-index"),
    path("<slug:code>/", views.flow_detail, name="flow-detail"),
]
