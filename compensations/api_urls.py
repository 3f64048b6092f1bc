from rest_framework.routers import SimpleRouter

from .api import AgreementViewSet, SettlementViewSet

router = SimpleRouter()
router.register("compensation-agreements", AgreementViewSet, basename="compensation-agreement")
router.register("compensation-settlements", SettlementViewSet, basename="compensation-settlement")

urlpatterns = router.urls
