"""The stage history's triggers stamp a change with Django's clock, not the database's.

`changed_at` is when the application made the change: the instant in the
transaction-local setting `app.now`, which the application's writers set around
the write (csplatform.clock.database_now). So the history agrees with every other
instant the application records (and moves with a test's pinned clock). A writer
outside the application (raw SQL, COPY) sets nothing: statement_timestamp() as
before, so two changes in one transaction still keep their order.
"""

import importlib

from django.db import migrations

_previous = importlib.import_module("journeys.migrations.0008_stage_transition_trigger")

CHANGED_AT = (
    "COALESCE(NULLIF(current_setting('app.now', true), '')::timestamptz, statement_timestamp())"
)

FUNCTIONS = f"""
CREATE OR REPLACE FUNCTION journeys_account_stage_inserted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO journeys_stagetransition
        (organization_id, account_id, from_stage, to_stage, changed_by_id, changed_at)
    SELECT n.organization_id, n.id, '', n.lifecycle_stage,
           NULLIF(current_setting('app.user_id', true), '')::bigint, {CHANGED_AT}
    FROM new_accounts n
    WHERE n.lifecycle_stage <> '';
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION journeys_account_stage_updated() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO journeys_stagetransition
        (organization_id, account_id, from_stage, to_stage, changed_by_id, changed_at)
    SELECT n.organization_id, n.id, o.lifecycle_stage, n.lifecycle_stage,
           NULLIF(current_setting('app.user_id', true), '')::bigint, {CHANGED_AT}
    FROM new_accounts n
    JOIN old_accounts o ON o.id = n.id
    WHERE o.lifecycle_stage IS DISTINCT FROM n.lifecycle_stage;
    RETURN NULL;
END
$$;
"""

# Back to 0008's functions (its CREATE FUNCTION statements, made replacements).
PREVIOUS_FUNCTIONS = (
    _previous.FUNCTIONS_AND_TRIGGERS.split("CREATE TRIGGER", 1)[0].replace(
        "CREATE FUNCTION", "CREATE OR REPLACE FUNCTION"
    )
)


class Migration(migrations.Migration):

    dependencies = [
        ("journeys", "0009_rollup_day_indexes"),
    ]

    operations = [
        migrations.RunSQL(FUNCTIONS, PREVIOUS_FUNCTIONS),
    ]
