"""Configuration pages of calls for proposals, mounted at ``/calls/`` (``iniciativas.call_views``)."""

from django.urls import path

from . import call_views

urlpatterns = [
    path("", call_views.call_list, name="call-list"),
    path("new/", call_views.call_create, name="call-create"),
    path("<str:code>/", call_views.call_edit, name="call-edit"),
]
