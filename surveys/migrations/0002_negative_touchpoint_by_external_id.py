"""A negative response and its touchpoint are linked by the touchpoint's external id
(`survey-response-<response id>`, and the idempotency key made from it), not by a
foreign key from surveys to journeys: the two apps stay independent (docs/architecture
in DESIGN.md), and journeys finds the touchpoint from the response id alone.

The touchpoints stay. Every linked touchpoint was written with that external id and key
(surveys.services before this change); any that is not gets them first, so no link is
lost. Backwards, the column comes back and is filled from the external ids. Both run
organization by organization under that tenant's setting (row-level security hides
every row otherwise).
"""

import uuid

from django.db import migrations, models

LINKED_ELSEWHERE = """
SELECT r.id, t.id FROM surveys_response r
JOIN journeys_touchpoint t ON t.id = r.negative_touchpoint_id
WHERE r.organization_id = %s AND t.external_id <> 'survey-response-' || r.id
"""

RELINK = """
UPDATE surveys_response r SET negative_touchpoint_id = t.id
FROM journeys_touchpoint t
WHERE r.organization_id = %(org)s AND t.organization_id = %(org)s
  AND t.external_id = 'survey-response-' || r.id
"""


def _each_organization(schema_editor, write):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT id FROM accounts_organization ORDER BY id")
        for (organization_id,) in cursor.fetchall():
            # Transaction-local, as everywhere: the migration's transaction ends it.
            cursor.execute(
                "SELECT set_config('app.organization_id', %s, true)", [str(organization_id)]
            )
            write(cursor, organization_id)
        cursor.execute("SELECT set_config('app.organization_id', '', true)")


def name_touchpoints_by_response(apps, schema_editor):
    def write(cursor, organization_id):
        cursor.execute(LINKED_ELSEWHERE, [organization_id])
        for response_id, touchpoint_id in cursor.fetchall():
            external_id = f"survey-response-{response_id}"
            cursor.execute(
                "UPDATE journeys_touchpoint SET external_id = %s, dedupe_key = %s WHERE id = %s",
                [
                    external_id,
                    uuid.uuid5(uuid.NAMESPACE_URL, f"csplatform:{external_id}"),
                    touchpoint_id,
                ],
            )

    _each_organization(schema_editor, write)


def link_touchpoints_again(apps, schema_editor):
    _each_organization(
        schema_editor, lambda cursor, organization_id: cursor.execute(RELINK, {"org": organization_id})
    )


class Migration(migrations.Migration):

    dependencies = [
        ("journeys", "0006_pending_usage_rollups"),
        ("surveys", "0001_surveys_and_answers"),
    ]

    operations = [
        migrations.RunPython(name_touchpoints_by_response, link_touchpoints_again),
        migrations.RemoveField(model_name="response", name="negative_touchpoint"),
    ]
