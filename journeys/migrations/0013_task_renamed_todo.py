"""The CS to-do model is called Todo in the code ("task" is a Celery task): its table
journeys_task becomes journeys_todo, with every row. Postgres keeps the table's
row-level security policy, triggers and indexes through the rename; the indexes and
constraints named after the old model are renamed in place (ALTER ... RENAME, no
rebuild), so nothing is dropped and nothing unique is ever unenforced."""

from django.conf import settings
from django.db import migrations, models

# (kind, old name, new name): a partial unique constraint is an index in Postgres.
RENAMED = [
    ("index", "task_one_open_per_playbook", "todo_one_open_per_playbook"),
    ("constraint", "task_once_per_occurrence", "todo_once_per_occurrence"),
    ("constraint", "task_title_key_or_text", "todo_title_key_or_text"),
    ("constraint", "task_reason_key_or_text", "todo_reason_key_or_text"),
]
# (key column, typed text column, check name): a row holds one or the other.
KEY_OR_TEXT = [
    ("title_key", "custom_title", "todo_title_key_or_text"),
    ("reason_key", "custom_reason", "todo_reason_key_or_text"),
]


def _rename_sql(old: str, new: str, kind: str) -> str:
    if kind == "index":
        return f"ALTER INDEX {old} RENAME TO {new}"
    return f"ALTER TABLE journeys_todo RENAME CONSTRAINT {old} TO {new}"


class Migration(migrations.Migration):
    dependencies = [
        ("journeys", "0012_default_lifecycle_stages"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RenameModel(old_name="Task", new_name="Todo"),
        migrations.RenameIndex(model_name="todo", new_name="todo_idx", old_name="task_idx"),
        migrations.RenameIndex(
            model_name="todo", new_name="todo_account_idx", old_name="task_account_idx"
        ),
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    _rename_sql(old, new, kind), reverse_sql=_rename_sql(new, old, kind)
                )
                for kind, old, new in RENAMED
            ],
            state_operations=[
                *[
                    migrations.RemoveConstraint(model_name="todo", name=old)
                    for _kind, old, _new in RENAMED
                ],
                migrations.AddConstraint(
                    model_name="todo",
                    constraint=models.UniqueConstraint(
                        condition=models.Q(("status", "open")),
                        fields=("organization", "playbook", "account"),
                        name="todo_one_open_per_playbook",
                    ),
                ),
                migrations.AddConstraint(
                    model_name="todo",
                    constraint=models.UniqueConstraint(
                        fields=("organization", "playbook", "account", "trigger_key"),
                        name="todo_once_per_occurrence",
                    ),
                ),
                *[
                    migrations.AddConstraint(
                        model_name="todo",
                        constraint=models.CheckConstraint(
                            condition=models.Q((key, ""), (text, ""), _connector="OR"),
                            name=name,
                        ),
                    )
                    for key, text, name in KEY_OR_TEXT
                ],
            ],
        ),
    ]
