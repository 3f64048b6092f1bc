"""How an entry's ``data`` is shown to people: a flat list of (label, text) rows, amounts as
``Bs 1.500,00``, yes/no for booleans, nested objects as ``parent / child``."""

from __future__ import annotations

import re

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from cases.roles import Role
from cases.templatetags.expediente_tags import bs

KEY_LABELS = {
    "amount": gettext_lazy("Amount"),
    "requested_amount": gettext_lazy("Requested amount"),
    "counterpart_amount": gettext_lazy("Counterpart"),
    "granted_amount": gettext_lazy("Granted amount"),
    "approved_amount": gettext_lazy("Approved amount"),
    "approved_amount_reason": gettext_lazy("Why less was approved"),
    "approved_counterpart": gettext_lazy("Counterpart owed"),
    "amount_in_force": gettext_lazy("Budget in force"),
    "comment": gettext_lazy("Comment"),
    "reason": gettext_lazy("Reason"),
    "reasons": gettext_lazy("Reasons"),
    "decision": gettext_lazy("Decision"),
    "role": gettext_lazy("Role"),
    "roles": gettext_lazy("Roles"),
    "username": gettext_lazy("User name"),
    "user": gettext_lazy("User"),
    "group": gettext_lazy("Role"),
    "department": gettext_lazy("Department"),
    "program": gettext_lazy("Program"),
    "source": gettext_lazy("Funding source"),
    "line": gettext_lazy("Budget line"),
    "fiscal_year": gettext_lazy("Fiscal year"),
    "from": gettext_lazy("From state"),
    "to": gettext_lazy("To state"),
    "state": gettext_lazy("State"),
    "sha256": gettext_lazy("SHA-256"),
    "size": gettext_lazy("Size (bytes)"),
    "name": gettext_lazy("Name"),
    "kind": gettext_lazy("Kind"),
    "permission": gettext_lazy("Permission"),
    "object": gettext_lazy("Object"),
    "object_type": gettext_lazy("Object type"),
    "object_id": gettext_lazy("Object id"),
    "outside_services": gettext_lazy("Changed outside the application's services"),
    "changes": gettext_lazy("Changes"),
    "format": gettext_lazy("Format"),
    "filters": gettext_lazy("Filters"),
    "valid": pgettext_lazy("audit verification", "Valid"),
    "entries": gettext_lazy("Entries"),
    "head": gettext_lazy("Head hash"),
    "first_error": gettext_lazy("First error"),
    "published_checkpoints": gettext_lazy("Published checkpoints compared"),
    "unit": gettext_lazy("Productive unit"),
    "step": gettext_lazy("Step"),
    "score": gettext_lazy("Score"),
    "tranche": gettext_lazy("Tranche"),
}
MONEY_KEYS = {
    "amount",
    "in_force",
    "amount_in_force",
    "reserved",
    "committed",
    "executed",
    "paid",
    "available",
    "balance",
    "total",
    "refunded",
    "recovered",
    "unit_value",
}
SEPARATOR = " \u203a "  # " > " as a single right-pointing angle quotation mark
_DECIMAL = re.compile(r"^-?\d+(\.\d+)?$")


def is_money_key(key: str) -> bool:
    key = key.lower()
    return key in MONEY_KEYS or key.endswith("_amount") or key.startswith("amount_")


def label_for(key: str) -> str:
    label = KEY_LABELS.get(key)
    return str(label) if label is not None else key.replace("_", " ").capitalize()


def format_value(value, key: str = "") -> str:
    if value is None or value == "":
        return "—"
    if value is True:
        return _("yes")
    if value is False:
        return _("no")
    if isinstance(value, str) and key and is_money_key(key) and _DECIMAL.match(value):
        return bs(value)
    if isinstance(value, str) and key in {"role", "roles", "group"} and value in Role.values:
        return str(Role(value).label)
    if isinstance(value, list) and all(not isinstance(v, dict | list) for v in value):
        return ", ".join(format_value(v, key) for v in value) or "—"
    return str(value)


def readable_data(data, prefix: str = "") -> list[tuple[str, str]]:
    """``[(label, text), ...]`` for an entry's data (order as stored: keys sorted)."""
    rows: list[tuple[str, str]] = []
    if not isinstance(data, dict):
        return [(prefix or _("Value"), format_value(data))]
    for key in sorted(data):
        value = data[key]
        label = f"{prefix}{SEPARATOR}{label_for(key)}" if prefix else label_for(key)
        if isinstance(value, dict):
            rows.extend(readable_data(value, label) if value else [(label, "—")])
        elif isinstance(value, list) and any(isinstance(v, dict | list) for v in value):
            for i, item in enumerate(value, start=1):
                item_label = f"{label} {i}"
                rows.extend(
                    readable_data(item, item_label)
                    if isinstance(item, dict)
                    else [(item_label, format_value(item))]
                )
        else:
            rows.append((label, format_value(value, key)))
    return rows


ERROR_TEXTS = {
    "missing": gettext_lazy("Entry %(seq)s is missing: it was deleted, or the numbering jumps."),
    "out_of_order": gettext_lazy("Entry %(seq)s is out of order or duplicated."),
    "link": gettext_lazy(
        "Entry %(seq)s does not link to the previous one: an entry was inserted, removed, reordered or "
        "altered before it."
    ),
    "inserted": gettext_lazy("Entry %(seq)s was inserted: the next entry links to entry %(before)s."),
    "hash": gettext_lazy("The content or the hash of entry %(seq)s was altered."),
    "damaged": gettext_lazy("Entry %(seq)s is damaged or not in the expected format."),
    "checkpoint_mismatch": gettext_lazy(
        "Entry %(seq)s differs from the signed checkpoint: the chain up to it was rewritten."
    ),
    "truncated": gettext_lazy(
        "Entries from %(seq)s on are missing: a signed checkpoint covers more entries than there are."
    ),
    "checkpoint_signature": gettext_lazy(
        "The checkpoint at entry %(seq)s has an invalid signature (forged or altered)."
    ),
    "checkpoint_unknown_key": gettext_lazy("The checkpoint at entry %(seq)s is signed with an unknown key."),
    "checkpoint_fork": gettext_lazy("Two signed checkpoints at entry %(seq)s name different hashes."),
    "checkpoint_rollback": gettext_lazy(
        "A later checkpoint covers fewer entries (%(seq)s) than an earlier one: the trail was restored to "
        "an older state."
    ),
    "checkpoint_malformed": gettext_lazy("A checkpoint is malformed."),
    "checkpoint_missing": gettext_lazy(
        "The checkpoint published for entry %(seq)s is missing from the database: its checkpoint table was "
        "altered."
    ),
    "checkpoint_replaced": gettext_lazy(
        "The database holds the checkpoint for entry %(seq)s differently from how it was published: its "
        "checkpoint table was altered."
    ),
}


def error_text(first_error: dict | None) -> str:
    """The first problem of a verification, in the user's language."""
    if not first_error:
        return ""
    template = ERROR_TEXTS.get(first_error.get("code", ""))
    if template is None:
        return first_error.get("reason", "")
    seq = first_error["seq"]
    return str(template) % {"seq": seq, "before": seq - 1}


def verification_notes(result: dict) -> list[str]:
    """Warnings of a verification, in the user's language."""
    notes = []
    latest = result.get("latest_checkpoint")
    if latest is None:
        notes.append(
            _("There is no signed checkpoint yet: a rewrite of the whole chain could not be detected.")
        )
    elif result.get("valid") and latest["seq"] < result.get("entries", 0):
        notes.append(
            _(
                "The entries after %(seq)s are not yet covered by a signed checkpoint: their deletion could "
                "not be detected."
            )
            % {"seq": latest["seq"]}
        )
    if latest is not None and not result.get("published_checkpoints"):
        notes.append(
            _(
                "No published checkpoint file was found on this server: only the database's own checkpoint "
                "table was checked. Verify with the copies kept outside the server (audit_verify "
                "--checkpoints)."
            )
        )
    for name in result.get("missing_triggers", []):
        notes.append(_("Protection trigger missing or disabled: %(name)s") % {"name": name})
    return notes
