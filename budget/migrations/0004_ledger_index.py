"""The ledger index holds the amount: (line, kind, amount) replaces (line, kind), so the sums of a line's
movements by kind are read from the index alone (``budget.selectors.line_ledgers``)."""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('budget', '0003_ledger_stamp'),
        ('contenttypes', '0002_remove_content_type_name'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name='budgetmovement',
            index=models.Index(fields=['line', 'kind', 'amount'], name='budget_mov_ledger_idx'),
        ),
        migrations.RemoveIndex(
            model_name='budgetmovement',
            name='budget_mov_line_kind_idx',
        ),
    ]
