from django.urls import path
from rest_framework.routers import SimpleRouter

from .api import LogoutView, TokenView, UnitViewSet

router = SimpleRouter()
router.register("units", UnitViewSet, basename="unit")

urlpatterns = [
    path("auth/token/", TokenView.as_view(), name="api-token"),
    path("auth/logout/", LogoutView.as_view(), name="api-logout"),
    *router.urls,
]
