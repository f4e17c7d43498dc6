"""Every change of an account's lifecycle stage is recorded in journeys_stagetransition,
whichever path wrote it (the UI, a CSV import, the REST API, raw SQL, COPY).

Two statement-level triggers on accounts_account, one per event, each a single
INSERT … SELECT over the statement's transition tables: a bulk upsert of 10,000
accounts costs one insert, not 10,000 function calls. (Postgres refuses a column
list, `UPDATE OF lifecycle_stage`, on a trigger with transition tables, so the
UPDATE trigger compares the old and new rows itself.)

- who: `app.user_id`, a transaction-local setting the UI's service sets
  (journeys.services.account_stage_change); empty (an import, the API) is NULL.
- when: statement_timestamp(), so two changes in one transaction keep their order.
- tenancy: the new rows carry the account's organization_id, which the account's
  own write had to match with `app.organization_id`, so the transition passes the
  forced row-level security policy of journeys_stagetransition too.

Accounts that already have a stage get one transition ('' → stage) at their
creation time, written organization by organization under that tenant's setting
(row-level security hides every row otherwise).
"""

from django.db import migrations

FUNCTIONS_AND_TRIGGERS = """
CREATE FUNCTION journeys_account_stage_inserted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO journeys_stagetransition
        (organization_id, account_id, from_stage, to_stage, changed_by_id, changed_at)
    SELECT n.organization_id, n.id, '', n.lifecycle_stage,
           NULLIF(current_setting('app.user_id', true), '')::bigint, statement_timestamp()
    FROM new_accounts n
    WHERE n.lifecycle_stage <> '';
    RETURN NULL;
END
$$;

CREATE FUNCTION journeys_account_stage_updated() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO journeys_stagetransition
        (organization_id, account_id, from_stage, to_stage, changed_by_id, changed_at)
    SELECT n.organization_id, n.id, o.lifecycle_stage, n.lifecycle_stage,
           NULLIF(current_setting('app.user_id', true), '')::bigint, statement_timestamp()
    FROM new_accounts n
    JOIN old_accounts o ON o.id = n.id
    WHERE o.lifecycle_stage IS DISTINCT FROM n.lifecycle_stage;
    RETURN NULL;
END
$$;

CREATE TRIGGER account_stage_history_on_insert
    AFTER INSERT ON accounts_account
    REFERENCING NEW TABLE AS new_accounts
    FOR EACH STATEMENT EXECUTE FUNCTION journeys_account_stage_inserted();

CREATE TRIGGER account_stage_history_on_update
    AFTER UPDATE ON accounts_account
    REFERENCING OLD TABLE AS old_accounts NEW TABLE AS new_accounts
    FOR EACH STATEMENT EXECUTE FUNCTION journeys_account_stage_updated();
"""

DROP_FUNCTIONS_AND_TRIGGERS = """
DROP TRIGGER IF EXISTS account_stage_history_on_update ON accounts_account;
DROP TRIGGER IF EXISTS account_stage_history_on_insert ON accounts_account;
DROP FUNCTION IF EXISTS journeys_account_stage_updated();
DROP FUNCTION IF EXISTS journeys_account_stage_inserted();
"""

BACKFILL = """
INSERT INTO journeys_stagetransition
    (organization_id, account_id, from_stage, to_stage, changed_by_id, changed_at)
SELECT a.organization_id, a.id, '', a.lifecycle_stage, NULL, a.created_at
FROM accounts_account a
WHERE a.organization_id = %s
  AND a.lifecycle_stage <> ''
  AND NOT EXISTS (SELECT 1 FROM journeys_stagetransition t WHERE t.account_id = a.id)
"""


def backfill_current_stages(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM accounts_organization ORDER BY id")
        organization_ids = [row[0] for row in cursor.fetchall()]
        for organization_id in organization_ids:
            # Transaction-local, as everywhere: the migration's transaction ends it.
            cursor.execute(
                "SELECT set_config('app.organization_id', %s, true)", [str(organization_id)]
            )
            cursor.execute(BACKFILL, [organization_id])
        cursor.execute("SELECT set_config('app.organization_id', '', true)")


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0009_survey_fatigue_settings"),
        ("journeys", "0007_journey_playbooks_tasks"),
    ]

    operations = [
        migrations.RunPython(backfill_current_stages, migrations.RunPython.noop),
        migrations.RunSQL(FUNCTIONS_AND_TRIGGERS, DROP_FUNCTIONS_AND_TRIGGERS),
    ]
