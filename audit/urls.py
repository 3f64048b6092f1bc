from django.urls import path, re_path, register_converter

from . import views


class _CaseCode:
    regex = r"[A-Za-z]{2,5}-\d{4}-\d{1,9}"

    def to_python(self, value):
        return value

    def to_url(self, value):
        return value


register_converter(_CaseCode, "auditcase")

app_name = "audit"
urlpatterns = [
    path("", views.trail, name="trail"),
    path("case/<auditcase:code>/", views.case_timeline, name="case"),
    path("verify/", views.verify, name="verify"),
    re_path(r"^export\.(?P<fmt>csv|xlsx)$", views.export, name="export"),
]
