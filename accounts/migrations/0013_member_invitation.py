"""accounts' Invitation is a MemberInvitation: surveys has an Invitation of its own.

RenameModel renames the table (accounts_invitation → accounts_memberinvitation) with
ALTER TABLE … RENAME, so the rows, the row-level security policy, the constraints and
the indexes stay with it (Postgres keeps them by the table's oid, not its name).
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0012_subscription_rules"),
    ]

    operations = [
        migrations.RenameModel(old_name="Invitation", new_name="MemberInvitation"),
    ]
