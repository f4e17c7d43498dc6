"""Every organization has its benchmarks from its creation on (the dashboards app gives
a new one the defaults through accounts.signals.organization_created): the
organizations created before that get the defaults they lack here (stored-text keys),
so that the executive and benchmark pages only read them. Row by row under each
tenant's setting (row-level security hides every row otherwise); a benchmark already
there (edited or not) is left alone."""

from django.db import migrations


def create_default_benchmarks(apps, schema_editor):
    from dashboards.services import DEFAULT_BENCHMARKS, benchmark_defaults

    Organization = apps.get_model("accounts", "Organization")
    Benchmark = apps.get_model("dashboards", "Benchmark")
    with schema_editor.connection.cursor() as cursor:
        for organization in Organization.objects.order_by("pk"):
            cursor.execute(
                "SELECT set_config('app.organization_id', %s, true)", [str(organization.pk)]
            )
            stored = set(
                Benchmark.objects.filter(organization_id=organization.pk).values_list(
                    "metric", flat=True
                )
            )
            Benchmark.objects.bulk_create(
                benchmark_defaults(
                    {d.metric for d in DEFAULT_BENCHMARKS} - stored,
                    model=Benchmark,
                    organization_id=organization.pk,
                )
            )
        cursor.execute("SELECT set_config('app.organization_id', '', true)")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0011_usage_event_retention"),
        ("dashboards", "0002_stored_text_keys"),
    ]

    operations = [
        migrations.RunPython(create_default_benchmarks, migrations.RunPython.noop),
    ]
