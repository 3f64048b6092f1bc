"""The named system actor of periodic jobs, commands and imports."""

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction

from .roles import SYSTEM_USERNAME


def system_user():
    """The system user (no usable password), created on first use."""
    User = get_user_model()
    user = User.objects.filter(username=SYSTEM_USERNAME).first()
    if user is None:
        try:
            with transaction.atomic():
                user = User(username=SYSTEM_USERNAME, first_name="Sistema", last_name="Expediente")
                user.set_unusable_password()
                user.save()
        except IntegrityError:  # created meanwhile by another process
            user = User.objects.get(username=SYSTEM_USERNAME)
    return user
