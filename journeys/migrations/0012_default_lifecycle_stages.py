"""Every organization has its lifecycle stages from its creation on (the journeys app
gives a new one the defaults through accounts.signals.organization_created): the
organizations created before that, which have none yet, get the defaults here, so
that the journey pages only read them. Under each tenant's setting (row-level
security hides every row otherwise); an organization with stages is left alone."""

from django.db import migrations

from csplatform.rls import each_organization

# The defaults as they were when this migration was written (journeys.services'
# DEFAULT_LIFECYCLE_STAGES may change later; history must not).
DEFAULT_LIFECYCLE_STAGES = [
    ("onboarding", "Onboarding", "Implantação"),
    ("adoption", "Adoption", "Adoção"),
    ("retention", "Retention", "Retenção"),
    ("expansion", "Expansion", "Expansão"),
    ("advocacy", "Advocacy", "Defesa da marca"),
]


def create_default_stages(apps, schema_editor):
    LifecycleStage = apps.get_model("journeys", "LifecycleStage")
    for organization_id in each_organization(schema_editor):
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


class Migration(migrations.Migration):
    dependencies = [
        ("journeys", "0011_stored_text_keys"),
    ]

    operations = [
        migrations.RunPython(create_default_stages, migrations.RunPython.noop),
    ]
