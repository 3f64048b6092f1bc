from rest_framework.routers import SimpleRouter

from .api import CallViewSet, InitiativeViewSet

router = SimpleRouter()
router.register("initiatives", InitiativeViewSet, basename="initiative")
router.register("calls", CallViewSet, basename="call")

urlpatterns = router.urls
