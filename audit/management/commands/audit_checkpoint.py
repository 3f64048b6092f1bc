from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from audit import checkpoints


class Command(BaseCommand):
    help = (
        "Sign a checkpoint of the audit trail now (Ed25519 over entry count and head hash), if the head "
        "moved since the last one, and write it to AUDIT_CHECKPOINT_DIR."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--write-files",
            action="store_true",
            help="(re)write every stored checkpoint to AUDIT_CHECKPOINT_DIR (or --dir)",
        )
        parser.add_argument("--dir", default=None, help="folder for --write-files")

    def handle(self, *args, **options):
        if options["write_files"]:
            count = checkpoints.ensure_files(everything=True, directory=options["dir"])
            self.stdout.write(f"{count} checkpoint file(s) written")
            return
        try:
            checkpoint = checkpoints.sign_checkpoint()
        except checkpoints.TrailIntegrityError as exc:
            raise CommandError(str(exc), returncode=1) from exc
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc), returncode=2) from exc
        if checkpoint is None:
            self.stdout.write("nothing to sign: the newest checkpoint already covers the head")
        else:
            self.stdout.write(
                f"checkpoint signed: {checkpoint.seq} entries, head {checkpoint.head}, "
                f"key {checkpoint.key_id}"
            )
