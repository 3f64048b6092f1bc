from rest_framework.routers import SimpleRouter

from .api import BudgetLineViewSet, FundingSourceViewSet, ProgramViewSet

router = SimpleRouter()
router.register("lines", BudgetLineViewSet, basename="budget-line")
router.register("programs", ProgramViewSet, basename="budget-program")
router.register("sources", FundingSourceViewSet, basename="budget-source")

urlpatterns = router.urls
