"""csp_redact_json: erasure's redaction of JSON, applied to its strings (keys and
values) one by one, never to its text as a whole, which a name spanning the JSON's
punctuation would break (accounts.privacy._redact_free_text)."""

from django.db import migrations

REDACT_JSON = r"""
CREATE OR REPLACE FUNCTION csp_redact_json(value jsonb, pattern text, replacement text)
RETURNS jsonb LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
  CASE jsonb_typeof(value)
    WHEN 'string' THEN
      RETURN to_jsonb(regexp_replace(value #>> '{}', pattern, replacement, 'gi'));
    WHEN 'array' THEN
      RETURN COALESCE(
        (SELECT jsonb_agg(csp_redact_json(element, pattern, replacement) ORDER BY position)
         FROM jsonb_array_elements(value) WITH ORDINALITY AS items(element, position)),
        '[]'::jsonb);
    WHEN 'object' THEN
      RETURN COALESCE(
        (SELECT jsonb_object_agg(regexp_replace(key, pattern, replacement, 'gi'),
                                 csp_redact_json(item, pattern, replacement))
         FROM jsonb_each(value) AS members(key, item)),
        '{}'::jsonb);
    ELSE
      RETURN value;
  END CASE;
END
$$;
"""

DROP_REDACT_JSON = "DROP FUNCTION IF EXISTS csp_redact_json(jsonb, text, text);"


class Migration(migrations.Migration):
    dependencies = [("accounts", "0016_import_upload_importing")]

    operations = [migrations.RunSQL(REDACT_JSON, DROP_REDACT_JSON)]
