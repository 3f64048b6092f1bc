"""Saving only the columns that changed (``WritesChangedColumns``)."""

from typing import Any, ClassVar

from django.db import models


class WritesChangedColumns:
    """A row read from the database (or saved) remembers its column values; a later plain ``save()``
    updates only the columns that changed since (JSON columns always: they may change in place).
    viewflow saves a task or process whole at every status change — about seven full-row UPDATEs
    of some thirty columns per decision, each one built and compiled by the ORM — where one to
    five columns changed, and a decision saved its case's forty-odd columns to change its state
    (issue 12, docs/BENCHMARKS.md). An explicit ``update_fields``, an INSERT or
    ``force_insert``/``force_update`` behave as Django's ``save`` always does. A mixin of the
    flow's task and process (``workflows.models``) and of every case model, first among their bases."""

    _meta: Any
    _state: Any
    _tracked: ClassVar[list]  # the model's non-key columns, set on first use

    @classmethod
    def from_db(cls, db, field_names, values, *, fetch_mode=None):
        instance = super().from_db(db, field_names, values, fetch_mode=fetch_mode)  # type: ignore[misc]
        instance._remember_columns(None)
        return instance

    @classmethod
    def _tracked_fields(cls) -> list:
        fields = cls.__dict__.get("_tracked")
        if fields is None:
            fields = [f for f in cls._meta.concrete_fields if not f.primary_key]
            cls._tracked = fields
        return fields

    def _remember_columns(self, names) -> None:
        values = self.__dict__
        # A new dict each time: a copy of the instance (``copy.copy``) must not share it.
        saved = {} if names is None else dict(values.get("_saved_columns") or {})
        for field in self._tracked_fields():
            if (names is None or field.name in names) and field.attname in values:
                saved[field.attname] = values[field.attname]
        values["_saved_columns"] = saved

    def _changed_fields(self) -> list[str] | None:
        saved = self.__dict__.get("_saved_columns")
        if saved is None:
            return None
        values, changed = self.__dict__, []
        for field in self._tracked_fields():
            name = field.attname
            if name not in values:
                continue  # deferred, not loaded: not written (as Django's save does)
            if isinstance(field, models.JSONField) or name not in saved or saved[name] != values[name]:
                changed.append(field.name)
        return changed or None

    def save(self, *args, **kwargs):
        update_fields = kwargs.get("update_fields")
        if (
            update_fields is None
            and not args
            and not self._state.adding
            and not kwargs.get("force_insert")
            and not kwargs.get("force_update")
        ):
            changed = self._changed_fields()
            if changed is not None:
                kwargs["update_fields"] = update_fields = changed
        super().save(*args, **kwargs)
        self._remember_columns(None if update_fields is None else set(update_fields))
