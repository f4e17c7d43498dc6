"""Default benchmark labels and notes stored as keys (csplatform.texts) instead of
sentences in the organization's language.

The old columns become the typed text (`custom_…`); a label or note that is one of the
default sentences (in English or in Brazilian Portuguese, as the catalogue translates
it) gets its key instead, any other text stays as typed text. The sentences are copied
here as they were written. Organization by organization, under that tenant's setting.
"""

from django.db import migrations, models
from django.utils import translation
from django.utils.translation import gettext

from csplatform.rls import each_organization
from csplatform.texts import key_or_text, sentences_to_keys

# The sentences as the application wrote them (dashboards/services.py before this change).
SENTENCES = {
    "benchmark.logo_churn_rate.label": "Monthly logo churn, B2B SaaS",
    "benchmark.logo_churn_rate.note": (
        "About 5 % a month. The year of the study is not recorded: add it here."
    ),
    "benchmark.nrr.label": "NRR median by ACV (< $12k … > $250k)",
    "benchmark.grr.label": "GRR median",
    "benchmark.gross_dollar_churn.label": "Annual gross dollar churn, median",
}


def convert(apps, schema_editor):
    Benchmark = apps.get_model("dashboards", "Benchmark")
    keys = {}
    for language in ("en", "pt-br"):
        with translation.override(language):
            keys |= {gettext(text): key for key, text in SENTENCES.items()}
    for organization_id in each_organization(schema_editor):
        benchmarks = Benchmark._base_manager.filter(organization_id=organization_id)
        changed = sentences_to_keys(
            benchmarks, ("label_key", "custom_label", keys), ("note_key", "custom_note", keys)
        )
        Benchmark._base_manager.bulk_update(
            changed, ["label_key", "custom_label", "note_key", "custom_note"]
        )


class Migration(migrations.Migration):

    dependencies = [
        ("dashboards", "0001_initial"),
    ]

    operations = [
        migrations.RenameField(model_name="benchmark", old_name="label", new_name="custom_label"),
        migrations.AlterField(
            model_name="benchmark",
            name="custom_label",
            field=models.CharField(blank=True, max_length=120, verbose_name="label"),
        ),
        migrations.AddField(
            model_name="benchmark",
            name="label_key",
            field=models.CharField(blank=True, max_length=100),
        ),
        migrations.RenameField(model_name="benchmark", old_name="note", new_name="custom_note"),
        migrations.AddField(
            model_name="benchmark",
            name="note_key",
            field=models.CharField(blank=True, max_length=100),
        ),
        migrations.RunPython(convert, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="benchmark",
            constraint=key_or_text(
                key="label_key", text="custom_label", name="benchmark_label_key_or_text"
            ),
        ),
        migrations.AddConstraint(
            model_name="benchmark",
            constraint=key_or_text(
                key="note_key", text="custom_note", name="benchmark_note_key_or_text"
            ),
        ),
    ]
