"""Every organization has its lifecycle stages from its creation on (the journeys app
gives a new one the defaults through accounts.signals.organization_created): the
organizations created before that, which have none yet, get the defaults here, so
that the journey pages only read them. Row by row under each tenant's setting
(row-level security hides every row otherwise); an organization with stages is left
alone."""

from django.db import migrations


def create_default_stages(apps, schema_editor):
    from journeys.services import DEFAULT_LIFECYCLE_STAGES

    Organization = apps.get_model("accounts", "Organization")
    LifecycleStage = apps.get_model("journeys", "LifecycleStage")
    with schema_editor.connection.cursor() as cursor:
        for organization_id in Organization.objects.order_by("pk").values_list("pk", flat=True):
            # Transaction-local, as everywhere: the migration's transaction ends it.
            cursor.execute(
                "SELECT set_config('app.organization_id', %s, true)", [str(organization_id)]
            )
            if LifecycleStage.objects.filter(organization_id=organization_id).exists():
                continue
            LifecycleStage.objects.bulk_create(
                LifecycleStage(
                    organization_id=organization_id,
                    key=key,
                    name_en=name_en,
                    name_pt_br=name_pt_br,
                    position=position,
                )
                for position, (key, name_en, name_pt_br) in enumerate(DEFAULT_LIFECYCLE_STAGES)
            )
        cursor.execute("SELECT set_config('app.organization_id', '', true)")


class Migration(migrations.Migration):
    dependencies = [
        ("journeys", "0010_stage_transition_django_clock"),
    ]

    operations = [
        migrations.RunPython(create_default_stages, migrations.RunPython.noop),
    ]
