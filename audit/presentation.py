"""How an entry's ``data`` is shown to people: a flat list of (label, text) rows, amounts as
``Bs 1.500,00``, yes/no for booleans, nested objects as ``parent / child``, codes (states, steps,
document kinds) by the labels their apps registered (``cases.labels``: the trail imports no domain
app), ids of units and users by their names, dates as dd/mm/yyyy."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from decimal import Decimal

from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from cases import labels
from cases.roles import Role
from cases.templatetags.expediente_tags import bs, lpz_date, lpz_datetime

KEY_LABELS = {
    "amount": gettext_lazy("Amount"),
    "requested_amount": gettext_lazy("Requested amount"),
    "counterpart_amount": gettext_lazy("Counterpart"),
    "granted_amount": gettext_lazy("Granted amount"),
    "approved_amount": gettext_lazy("Approved amount"),
    "approved_amount_reason": gettext_lazy("Why less was approved"),
    "approved_counterpart": gettext_lazy("Counterpart owed"),
    "amount_in_force": gettext_lazy("Budget in force"),
    "max_amount": gettext_lazy("Maximum amount"),
    "in_force": gettext_lazy("Budget in force"),
    "reserved": gettext_lazy("Reserved"),
    "committed": gettext_lazy("Committed"),
    "executed": gettext_lazy("Executed"),
    "paid": gettext_lazy("Paid"),
    "available": gettext_lazy("Available"),
    "refund": gettext_lazy("Balance returned"),
    "refund_amount": gettext_lazy("Balance returned"),
    "amount_spent": gettext_lazy("Grant money spent"),
    "counterpart_spent": gettext_lazy("Counterpart spent"),
    "unit_value": gettext_lazy("Unit value"),
    "quantity": gettext_lazy("Quantity"),
    "description": gettext_lazy("Description"),
    "assets": gettext_lazy("Assets"),
    "comment": gettext_lazy("Comment"),
    "reason": gettext_lazy("Reason"),
    "reasons": gettext_lazy("Reasons"),
    "observation": gettext_lazy("Observations"),
    "answer": gettext_lazy("Answer"),
    "opinion": gettext_lazy("Legal opinion"),
    "summary": gettext_lazy("Report"),
    "decision": gettext_lazy("Decision"),
    "role": gettext_lazy("Role"),
    "roles": gettext_lazy("Roles"),
    "username": gettext_lazy("User name"),
    "user": gettext_lazy("User"),
    "delegate": gettext_lazy("Delegate"),
    "delegator": gettext_lazy("Delegator"),
    "holder": gettext_lazy("Held by"),
    "group": gettext_lazy("Role"),
    "department": gettext_lazy("Department"),
    "municipality": gettext_lazy("Municipality"),
    "sector": gettext_lazy("Sector"),
    "tax_id": gettext_lazy("NIT"),
    "program": gettext_lazy("Program"),
    "source": gettext_lazy("Funding source"),
    "line": gettext_lazy("Budget line"),
    "budget_line": gettext_lazy("Budget line"),
    "movement": gettext_lazy("Ledger movement"),
    "fiscal_year": gettext_lazy("Fiscal year"),
    "date": gettext_lazy("Date"),
    "from": gettext_lazy("Previous state"),
    "to": gettext_lazy("New state"),
    "from_state": gettext_lazy("Previous state"),
    "to_state": gettext_lazy("New state"),
    "state": gettext_lazy("State"),
    "sha256": gettext_lazy("SHA-256"),
    "content_sha256": gettext_lazy("SHA-256 of the content"),
    "template_version": gettext_lazy("Template version"),
    "size": gettext_lazy("Size (bytes)"),
    "content_type": gettext_lazy("File type"),
    "document": gettext_lazy("Document no."),
    "name": gettext_lazy("Name"),
    "code": gettext_lazy("Code"),
    "call": gettext_lazy("Call for proposals"),
    "kind": gettext_lazy("Kind"),
    "modality": gettext_lazy("Modality"),
    "beneficiary": gettext_lazy("Beneficiary"),
    "unit_data": gettext_lazy("Unit data"),
    "registration_valid_until": gettext_lazy("Registration valid until"),
    "admin_site": gettext_lazy("Access to the administration site"),
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
    "step_a": gettext_lazy("Step"),
    "step_b": gettext_lazy("Incompatible with"),
    "task": gettext_lazy("Task no."),
    "data": gettext_lazy("Data of the step"),
    "no_conflict": gettext_lazy("Declared no conflict of interest"),
    "sealed": gettext_lazy("Scores sealed until every evaluation is in"),
    "mean": gettext_lazy("Mean score"),
    "scores": gettext_lazy("Scores"),
    "score": gettext_lazy("Score"),
    "policy": gettext_lazy("Approval policy no."),
    "tranche": gettext_lazy("Tranche"),
    "tranche_number": gettext_lazy("Tranche"),
    "resolution_number": gettext_lazy("Resolution"),
    "agreement_number": gettext_lazy("Agreement"),
    "payment_reference": gettext_lazy("Payment reference"),
    "physical_progress": gettext_lazy("Physical progress"),
    "counterpart_verified": gettext_lazy("Counterpart verified"),
    "deadline_days": gettext_lazy("Deadline (business days)"),
    "observation_days": gettext_lazy("Deadline (business days)"),
    "record": gettext_lazy("Close-out record"),
    "certificate": gettext_lazy("Certificate"),
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
    "refund",
    "refunded",
    "recovered",
    "unit_value",
}
# Keys whose codes are labelled under another key's name (a transition's states, a pair of steps).
LABEL_KEYS = {
    "from": "state",
    "to": "state",
    "from_state": "state",
    "to_state": "state",
    "step_a": "step",
    "step_b": "step",
}
CONTENT_TYPES = {"application/pdf": "PDF", "image/jpeg": "JPEG", "image/png": "PNG"}
SEPARATOR = " \u203a "  # " > " as a single right-pointing angle quotation mark
_DECIMAL = re.compile(r"^-?\d+(\.\d+)?$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


def is_money_key(key: str) -> bool:
    key = key.lower()
    return key in MONEY_KEYS or key.endswith(("_amount", "_spent")) or key.startswith("amount_")


def label_for(key: str) -> str:
    label = KEY_LABELS.get(key)
    return str(label) if label is not None else key.replace("_", " ").capitalize()


def _number(value: str) -> str:
    try:
        number = Decimal(value)
    except ArithmeticError:
        return value
    exponent = number.as_tuple().exponent
    places = max(0, -exponent) if isinstance(exponent, int) else 0
    return formats.number_format(number, decimal_pos=places, use_l10n=True, force_grouping=True)


def _date_text(value: str) -> str | None:
    try:
        if _DATE.match(value):
            return lpz_date(dt.date.fromisoformat(value))
        if _DATETIME.match(value):
            return lpz_datetime(dt.datetime.fromisoformat(value))
    except ValueError:
        return None
    return None


def format_value(
    value, key: str = "", *, scope: str = "", names: Mapping[tuple[str, str], str] | None = None
) -> str:
    """One stored value in words: money in bolivianos, codes by their registered labels
    (``cases.labels``), ids by the names they point at (``names``, resolved once per page), dates as
    dd/mm/yyyy, numbers with Bolivian separators."""
    if value is None or value == "":
        return "—"
    if value is True:
        return _("yes")
    if value is False:
        return _("no")
    if isinstance(value, list) and all(not isinstance(v, dict | list) for v in value):
        return ", ".join(format_value(v, key, scope=scope, names=names) for v in value) or "—"
    if isinstance(value, str | int) and names and (key, str(value)) in names:
        return names[(key, str(value))]
    if isinstance(value, str):
        if key and is_money_key(key) and _DECIMAL.match(value):
            return bs(value)
        if key in {"role", "roles", "group"} and value in Role.values:
            return str(Role(value).label)
        if key == "content_type":
            return CONTENT_TYPES.get(value, value)
        label = labels.value_label(LABEL_KEYS.get(key, key), value, scope)
        if label is not None:
            return label
        if _DECIMAL.match(value) and "." in value:
            return _number(value)
        when = _date_text(value)
        if when is not None:
            return when
    if (
        isinstance(value, int)
        and not isinstance(value, bool)
        and key in {"fiscal_year", "task", "document", "movement", "policy", "tranche", "tranche_number"}
    ):
        return str(value)
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        if key and is_money_key(key):
            return bs(value)
        return formats.number_format(value, use_l10n=True, force_grouping=True)
    return str(value)


def _references(data, wanted: dict[str, set]) -> None:
    """Collect the ids/codes under keys that point at rows (``cases.labels.register_reference``)."""
    if isinstance(data, dict):
        for key, value in data.items():
            if isinstance(value, dict | list):
                _references(value, wanted)
            elif labels.has_reference(key) and isinstance(value, str | int) and not isinstance(value, bool):
                wanted.setdefault(key, set()).add(value)
    elif isinstance(data, list):
        for item in data:
            _references(item, wanted)


def names_for(datas: Iterable) -> dict[tuple[str, str], str]:
    """The names behind every reference in a page's entries, one query per kind of reference."""
    wanted: dict[str, set] = {}
    for data in datas:
        _references(data, wanted)
    return labels.resolve(wanted)


def readable_data(
    data, prefix: str = "", *, scope: str = "", names: Mapping[tuple[str, str], str] | None = None
) -> list[tuple[str, str]]:
    """``[(label, text), ...]`` for an entry's data (order as stored: keys sorted)."""
    rows: list[tuple[str, str]] = []
    if not isinstance(data, dict):
        return [(prefix or _("Value"), format_value(data, scope=scope, names=names))]
    for key in sorted(data):
        value = data[key]
        label = f"{prefix}{SEPARATOR}{label_for(key)}" if prefix else label_for(key)
        if isinstance(value, dict):
            rows.extend(readable_data(value, label, scope=scope, names=names) if value else [(label, "—")])
        elif isinstance(value, list) and any(isinstance(v, dict | list) for v in value):
            for i, item in enumerate(value, start=1):
                item_label = f"{label} {i}"
                rows.extend(
                    readable_data(item, item_label, scope=scope, names=names)
                    if isinstance(item, dict)
                    else [(item_label, format_value(item, scope=scope, names=names))]
                )
        else:
            rows.append((label, format_value(value, key, scope=scope, names=names)))
    return rows


def scope_of(entry) -> str:
    """The app whose codes the entry's data holds: its subject's app label (``iniciativas``)."""
    return (entry.subject_type or "").split(".")[0]


def subject_text(entry, names: Mapping[tuple[str, str], str] | None = None) -> str:
    """The entry's subject as people name it: a task by its step, not viewflow's ``<flow/…>``."""
    data = entry.data if isinstance(entry.data, dict) else {}
    if entry.subject_type == "workflows.casetask":
        step = labels.value_label("step", data.get("step", ""), "") or data.get("step", "")
        return (
            _("Task %(number)s: %(step)s") % {"number": entry.subject_id, "step": step}
            if step
            else _("Task %(number)s") % {"number": entry.subject_id}
        )
    label = entry.subject_label
    if entry.case and label.startswith(entry.case):
        label = label[len(entry.case) :].strip()  # the code is shown beside it, as a link
    return label


def summary(entry, names: Mapping[tuple[str, str], str] | None = None) -> str:
    """One line of what the entry says, for the compact row: a state change, a step's decision, an
    amount (the details disclosure holds the rest)."""
    data = entry.data if isinstance(entry.data, dict) else {}
    scope = scope_of(entry)
    parts = []
    step = data.get("step")
    if step:
        parts.append(format_value(step, "step", scope=scope))
    decision = data.get("decision")
    if decision:
        parts.append(format_value(decision, "decision", scope=scope))
    before, after = data.get("from", data.get("from_state")), data.get("to", data.get("to_state"))
    if before and after and before != after:
        parts.append(
            f"{format_value(before, 'from', scope=scope)} → {format_value(after, 'to', scope=scope)}"
        )
    for key in ("tranche", "amount", "granted_amount", "requested_amount"):
        if data.get(key) not in (None, ""):
            text = format_value(data[key], key, scope=scope, names=names)
            parts.append(f"{label_for(key)} {text}")
            break
    if isinstance(data.get("kind"), str) and data["kind"]:
        parts.append(format_value(data["kind"], "kind", scope=scope))
    for key in ("unit", "beneficiary", "user", "delegate", "role", "department", "line"):
        if data.get(key) not in (None, "") and not isinstance(data[key], dict | list):
            parts.append(format_value(data[key], key, scope=scope, names=names))
            break
    return " · ".join(parts)


def rows_for(entries) -> list[dict]:
    """What the trail's pages show of each entry: the data in words, a one-line summary, the
    subject as people name it (names behind ids read once for the whole page)."""
    entries = list(entries)
    names = names_for(e.data for e in entries)
    return [
        {
            "entry": e,
            "data": readable_data(e.data, scope=scope_of(e), names=names),
            "summary": summary(e, names),
            "subject": subject_text(e, names),
        }
        for e in entries
    ]


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
