from django.urls import path
from rest_framework.routers import SimpleRouter

from .api import AuditEntryViewSet, CheckpointListView, PublicKeyListView, VerifyView

router = SimpleRouter()
router.register("entries", AuditEntryViewSet, basename="audit-entry")

urlpatterns = [
    path("verify/", VerifyView.as_view(), name="audit-verify"),
    path("checkpoints/", CheckpointListView.as_view(), name="audit-checkpoints"),
    path("public-keys/", PublicKeyListView.as_view(), name="audit-public-keys"),
    *router.urls,
]
