"""Search (accounts.search): contrib's unaccent and pg_trgm, the immutable
`csp_search_text` that folds text for search, the folded name, id and email (and the
name's words) stored beside accounts and contacts, and GIN indexes on them.

Both extensions are "trusted" (Postgres 13+): the application's role, which owns its
database but is no superuser (scripts/create_db_role.sh), may create them.
`CREATE EXTENSION IF NOT EXISTS` leaves them alone where an administrator made them.
"""

import django.contrib.postgres.indexes
import django.contrib.postgres.search
from django.contrib.postgres.operations import TrigramExtension, UnaccentExtension
from django.db import migrations, models

import accounts.models.search_text

# unaccent(text) is STABLE (its dictionary could be edited), so it cannot be stored or
# indexed; naming the dictionary makes the result depend on the text alone, which is
# what IMMUTABLE promises. Schema-qualified so it never depends on search_path.
SEARCH_TEXT = """
CREATE OR REPLACE FUNCTION csp_search_text(value text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
  SELECT lower(public.unaccent('public.unaccent'::regdictionary, value))
$$;
"""

DROP_SEARCH_TEXT = "DROP FUNCTION IF EXISTS csp_search_text(text);"


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0017_redact_json_function"),
    ]

    operations = [
        UnaccentExtension(),
        TrigramExtension(),
        migrations.RunSQL(SEARCH_TEXT, DROP_SEARCH_TEXT),
        migrations.AddField(
            model_name="account",
            name="search_code",
            field=models.GeneratedField(
                db_persist=True,
                expression=accounts.models.search_text.SearchText("external_id"),
                output_field=models.TextField(),
            ),
        ),
        migrations.AddField(
            model_name="account",
            name="search_name",
            field=models.GeneratedField(
                db_persist=True,
                expression=accounts.models.search_text.SearchText("name"),
                output_field=models.TextField(),
            ),
        ),
        migrations.AddField(
            model_name="account",
            name="search_words",
            field=models.GeneratedField(
                db_persist=True,
                expression=accounts.models.search_text.SearchWords(
                    accounts.models.search_text.SearchText("name")
                ),
                output_field=django.contrib.postgres.search.SearchVectorField(),
            ),
        ),
        migrations.AddField(
            model_name="contact",
            name="search_email",
            field=models.GeneratedField(
                db_persist=True,
                expression=accounts.models.search_text.SearchText("email"),
                output_field=models.TextField(),
            ),
        ),
        migrations.AddField(
            model_name="contact",
            name="search_name",
            field=models.GeneratedField(
                db_persist=True,
                expression=accounts.models.search_text.SearchText("name"),
                output_field=models.TextField(),
            ),
        ),
        migrations.AddField(
            model_name="contact",
            name="search_words",
            field=models.GeneratedField(
                db_persist=True,
                expression=accounts.models.search_text.SearchWords(
                    accounts.models.search_text.SearchText("name")
                ),
                output_field=django.contrib.postgres.search.SearchVectorField(),
            ),
        ),
        migrations.AddIndex(
            model_name="account",
            index=django.contrib.postgres.indexes.GinIndex(
                django.contrib.postgres.indexes.OpClass("search_name", name="gin_trgm_ops"),
                name="account_name_trgm_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="account",
            index=django.contrib.postgres.indexes.GinIndex(
                django.contrib.postgres.indexes.OpClass("search_code", name="gin_trgm_ops"),
                name="account_external_id_trgm_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="account",
            index=django.contrib.postgres.indexes.GinIndex(
                fields=["search_words"], name="account_name_words_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="contact",
            index=django.contrib.postgres.indexes.GinIndex(
                django.contrib.postgres.indexes.OpClass("search_name", name="gin_trgm_ops"),
                name="contact_name_trgm_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="contact",
            index=django.contrib.postgres.indexes.GinIndex(
                django.contrib.postgres.indexes.OpClass("search_email", name="gin_trgm_ops"),
                name="contact_email_trgm_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="contact",
            index=django.contrib.postgres.indexes.GinIndex(
                fields=["search_words"], name="contact_name_words_idx"
            ),
        ),
    ]
