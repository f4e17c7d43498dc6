"""Postgres row-level security for tenant-owned tables, as one migration line.

    operations = [..., EnableRowLevelSecurity("invitation")]

The policy compares `organization_id` with the transaction-local setting
`app.organization_id` (see csplatform.tenancy). Unset or empty means NULL,
and NULL matches no row: no tenant, no rows, no error. FORCE makes the table's
owner obey the policy too, so the application role may own its tables.
"""

from collections.abc import Iterator
from typing import Any

from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.operations.base import Operation
from django.db.migrations.state import ProjectState

POLICY_NAME = "tenant_isolation"
TENANT_PREDICATE = (
    "organization_id = NULLIF(current_setting('app.organization_id', true), '')::bigint"
)


def enable_rls_sql(table: str) -> list[str]:
    return [
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
        f"CREATE POLICY {POLICY_NAME} ON {table} "
        f"USING ({TENANT_PREDICATE}) WITH CHECK ({TENANT_PREDICATE})",
    ]


def disable_rls_sql(table: str) -> list[str]:
    return [
        f"DROP POLICY IF EXISTS {POLICY_NAME} ON {table}",
        f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY",
    ]


def each_organization(schema_editor: BaseDatabaseSchemaEditor) -> Iterator[int]:
    """For a data migration: each organization's id in turn, with the transaction-local
    `app.organization_id` set to it (row-level security hides every row otherwise);
    the setting is cleared at the end."""
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT id FROM accounts_organization ORDER BY id")
        organization_ids = [row[0] for row in cursor.fetchall()]
        try:
            for organization_id in organization_ids:
                cursor.execute(
                    "SELECT set_config('app.organization_id', %s, true)", [str(organization_id)]
                )
                yield organization_id
        finally:
            cursor.execute("SELECT set_config('app.organization_id', '', true)")


class EnableRowLevelSecurity(Operation):
    """Enable and force RLS on a tenant-owned model's table, with the tenant policy."""

    reversible = True
    reduces_to_sql = True

    def __init__(self, model_name: str) -> None:
        self.model_name = model_name

    def deconstruct(self) -> tuple[str, list[Any], dict[str, Any]]:
        return (self.__class__.__qualname__, [self.model_name], {})

    def state_forwards(self, app_label: str, state: ProjectState) -> None:
        pass

    def _table(self, app_label: str, schema_editor: BaseDatabaseSchemaEditor, state: Any) -> str:
        model = state.apps.get_model(app_label, self.model_name)
        return schema_editor.quote_name(model._meta.db_table)

    def database_forwards(
        self,
        app_label: str,
        schema_editor: BaseDatabaseSchemaEditor,
        from_state: ProjectState,
        to_state: ProjectState,
    ) -> None:
        for statement in enable_rls_sql(self._table(app_label, schema_editor, to_state)):
            schema_editor.execute(statement)

    def database_backwards(
        self,
        app_label: str,
        schema_editor: BaseDatabaseSchemaEditor,
        from_state: ProjectState,
        to_state: ProjectState,
    ) -> None:
        for statement in disable_rls_sql(self._table(app_label, schema_editor, from_state)):
            schema_editor.execute(statement)

    def describe(self) -> str:
        return f"Enable row-level security on {self.model_name}"

    @property
    def migration_name_fragment(self) -> str:
        return f"rls_{self.model_name.lower()}"
