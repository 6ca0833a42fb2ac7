# mypy: ignore-errors
# ruff: noqa: RUF012

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("accounts_sync", "0002_syncsession_progress_at")]

    operations = [
        migrations.AddIndex(
            model_name="syncrecord",
            index=models.Index(fields=["session", "id"], name="accounts_sync_record_page_idx"),
        ),
    ]
