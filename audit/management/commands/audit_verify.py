import json

from django.core.management.base import BaseCommand, CommandError

from audit import verification
from audit.published import read_published
from audit.verifier import default_workers


class Command(BaseCommand):
    help = (
        "Recompute the audit trail's hash chain and check every signed checkpoint: those of the database, "
        "those published in AUDIT_CHECKPOINT_DIR and those of --checkpoints (each published one must also "
        "be in the database unchanged). Exit status 0 when everything verifies, 1 otherwise (the first "
        "bad entry is printed), 2 when a --checkpoints source cannot be read."
    )

    def add_arguments(self, parser):
        parser.add_argument("--export", metavar="FILE", help="also write the trail as JSON Lines to FILE")
        parser.add_argument(
            "--export-checkpoints",
            metavar="FILE",
            help="also write the stored checkpoints (with public keys) as JSON to FILE",
        )
        parser.add_argument(
            "--workers", type=int, default=None, help="processes for large trails (default: CPUs)"
        )
        parser.add_argument(
            "--checkpoints",
            action="append",
            default=[],
            metavar="PATH",
            help="published checkpoints kept elsewhere (e.g. internal control's off-server copy): a "
            "checkpoint-*.json folder, a saved /api/v1/audit/checkpoints/ response or JSON Lines "
            "(repeatable)",
        )
        parser.add_argument("--json", action="store_true", help="print the result as JSON")

    def handle(self, *args, **options):
        workers = options["workers"] or default_workers()
        try:
            published = read_published(options["checkpoints"])
        except (OSError, ValueError) as exc:
            raise CommandError(f"cannot read the checkpoints: {exc}", returncode=2) from exc
        if options["export"]:
            with open(options["export"], "wb") as fh:
                payload = verification.verify_and_describe(export=fh, published=published)
        else:
            payload = verification.verify_and_describe(workers=workers, published=published)
        if options["export_checkpoints"]:
            from audit.checkpoints import checkpoint_document
            from audit.models import Checkpoint

            docs = [checkpoint_document(cp) for cp in Checkpoint.objects.order_by("seq", "signed_at")]
            with open(options["export_checkpoints"], "w", encoding="utf-8") as fh:
                json.dump(docs, fh, indent=2, ensure_ascii=False)
        if options["json"]:
            self.stdout.write(json.dumps(payload, indent=2, ensure_ascii=False))
        elif payload["valid"]:
            self.stdout.write(f"OK: {payload['entries']} entries, head {payload['head'] or '-'}")
            self.stdout.write(
                f"{payload['checkpoints']} signed checkpoint(s) verified "
                f"({payload['published_checkpoints']} published checkpoint(s) compared with the database)"
            )
        for warning in payload["warnings"]:
            self.stderr.write(f"warning: {warning}")
        if not payload["valid"]:
            err = payload["first_error"]
            raise CommandError(f"INVALID: first bad entry seq {err['seq']}: {err['reason']}", returncode=1)
