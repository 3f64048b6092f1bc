"""What every form of the project shares."""

from django import forms
from django.core.exceptions import ValidationError


def add_service_errors(form: forms.Form, exc: ValidationError) -> None:
    """Put a service's ``ValidationError`` next to the form's fields (the rest on top of the form)."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            messages = [m for e in errors for m in e.messages]
            form.add_error(field if field in form.fields else None, messages)
    else:
        form.add_error(None, exc.messages)
