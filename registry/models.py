import re

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from cases.reach import Sector

NIT_RE = re.compile(r"^[1-9][0-9]{6,11}$")


def validate_nit(value: str) -> None:
    """A Bolivian NIT: 7 to 12 digits, no leading zero."""
    if not NIT_RE.match(value or ""):
        raise ValidationError(
            _("Enter a valid NIT: 7 to 12 digits, not starting with 0."), code="invalid_nit"
        )


class Department(models.Model):
    """One of Bolivia's nine departments; a coarse object for staff scoping (django-guardian)."""

    class Code(models.TextChoices):
        LPZ = "LPZ", "La Paz"
        CBB = "CBB", "Cochabamba"
        SCZ = "SCZ", "Santa Cruz"
        ORU = "ORU", "Oruro"
        PTS = "PTS", "Potosí"
        CHQ = "CHQ", "Chuquisaca"
        TJA = "TJA", "Tarija"
        BEN = "BEN", "Beni"
        PND = "PND", "Pando"

    code = models.CharField(_("code"), max_length=3, unique=True, choices=Code.choices)
    name = models.CharField(_("name"), max_length=60)

    class Meta:
        ordering = ["code"]
        verbose_name = _("department")
        verbose_name_plural = _("departments")
        permissions = [("work_in_department", _("Can work on cases of the department"))]

    def __str__(self) -> str:
        return self.name


class DepartmentUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(Department, on_delete=models.CASCADE)


class DepartmentGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Department, on_delete=models.CASCADE)


class Unit(models.Model):
    """A registered productive unit (unidad productiva)."""

    class Kind(models.TextChoices):
        MYPE = "mype", _("Micro or small enterprise (MYPE)")
        ASSOCIATION = "association", _("Producers' association")
        COOPERATIVE = "cooperative", _("Cooperative")
        ARTISAN = "artisan", _("Artisan")
        COMPANY = "company", _("Company")
        DAIRY_COMPANY = "dairy_company", _("Dairy company")
        MUNICIPALITY = "municipality", _("Municipality (GAM)")

    # The sector (rubro) list lives in the kernel: cases are placed by sector too (``cases.reach``).
    Sector = Sector

    tax_id = models.CharField(_("NIT"), max_length=12, unique=True, validators=[validate_nit])
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    department = models.ForeignKey(
        Department, on_delete=models.PROTECT, related_name="units", verbose_name=_("department")
    )
    municipality = models.CharField(_("municipality"), max_length=100)
    sector = models.CharField(_("sector"), max_length=20, choices=Sector.choices)
    registered_at = models.DateTimeField(_("registered at"), default=timezone.now)
    registration_valid_until = models.DateField(_("registration valid until"))
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("productive unit")
        verbose_name_plural = _("productive units")

    def __str__(self) -> str:
        return f"{self.name} (NIT {self.tax_id})"

    def registration_is_valid(self, on=None) -> bool:
        on = on or timezone.localdate()
        return self.registration_valid_until >= on


class User(AbstractUser):
    """A person. Applicants belong to exactly one productive unit; staff to none.

    Users are never deleted (history points at them with PROTECT): deactivate them instead.
    """

    unit = models.ForeignKey(
        Unit,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="members",
        verbose_name=_("productive unit"),
    )

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"

    def __str__(self) -> str:
        return self.get_full_name() or self.username
