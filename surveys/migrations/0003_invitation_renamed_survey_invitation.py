"""Surveys' Invitation is called SurveyInvitation (accounts has its own invitations, to
join an organization): the table surveys_invitation becomes surveys_surveyinvitation,
with every row. Postgres keeps the table's row-level security policy, indexes,
constraints and the foreign keys of responses and answer attempts through the rename."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("surveys", "0002_negative_touchpoint_by_external_id"),
    ]

    operations = [
        migrations.RenameModel(old_name="Invitation", new_name="SurveyInvitation"),
    ]
