# mypy: ignore-errors
# ruff: noqa: RUF012

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("accounts_sync", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="syncsession",
            name="progress_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
