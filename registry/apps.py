from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _ensure_reference_data(sender, using="default", **kwargs):
    """After every migrate/flush: the nine departments, the role groups and the system user.

    Migration 0002 creates them too; this puts them back in databases emptied by ``flush`` (e.g.
    transactional tests)."""
    from django.db import DEFAULT_DB_ALIAS, connections

    from .models import Department, User

    if using != DEFAULT_DB_ALIAS:
        return
    connection = connections[using]
    tables = set(connection.introspection.table_names())
    if not {Department._meta.db_table, User._meta.db_table, "auth_group"} <= tables:
        return
    from .services import ensure_reference_data

    ensure_reference_data()


def _unit_names(pks: set) -> dict:
    from .models import Unit

    ids = [int(pk) for pk in pks if str(pk).isdigit()]
    return dict(Unit.objects.filter(pk__in=ids).values_list("pk", "name"))


def _user_names(pks: set) -> dict:
    from .models import User

    ids = [int(pk) for pk in pks if str(pk).isdigit()]
    return {u.pk: u.get_full_name() or u.get_username() for u in User.objects.filter(pk__in=ids)}


def _department_names(codes: set) -> dict:
    from .models import Department

    return dict(Department.objects.filter(code__in=[str(c) for c in codes]).values_list("code", "name"))


def _register_labels() -> None:
    """How the registry's codes read on pages that do not import it (the audit trail): unit kinds
    and sectors in words, unit and user ids as names, department codes as names."""
    from cases import labels

    from .models import Unit

    labels.register_values("kind", Unit.Kind.choices, scope="registry")
    labels.register_values("sector", Unit.Sector.choices)
    for key in ("unit", "beneficiary"):
        labels.register_reference(key, _unit_names)
    for key in ("user", "delegate", "delegator", "holder", "owner"):
        labels.register_reference(key, _user_names)
    labels.register_reference("department", _department_names)


class RegistryConfig(AppConfig):
    name = "registry"
    verbose_name = _("Registry")

    def ready(self):
        from django.contrib.auth.signals import user_logged_out

        from audit import actions

        from . import (
            imports,  # noqa: F401  (registers its import, cases.imports)
            rules,  # noqa: F401  (registers the permission rules)
        )
        from .tokens import revoke_on_logout

        # Audit actions of the login protections (registry/lockout.py, registry/tokens.py).
        actions.register(
            [
                ("auth.locked_out", _("Logins locked out after repeated failures")),
                ("auth.token_revoked", _("API token revoked")),
                ("auth.password_reset", _("Password reset by e-mail")),
            ]
        )
        _register_labels()
        user_logged_out.connect(revoke_on_logout, dispatch_uid="registry_revoke_token_on_logout")

        post_migrate.connect(_ensure_reference_data, sender=self, dispatch_uid="registry_reference_data")
