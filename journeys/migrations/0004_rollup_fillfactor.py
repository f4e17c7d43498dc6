from django.db import migrations

# Ingestion adds to the daily rollups in place (events = events + n). With room
# left on each page, Postgres updates those rows without touching their indexes
# (HOT updates), which keeps ingestion close to the speed of a plain insert.
ROLLUPS = ["journeys_dailyusage", "journeys_dailyfeatureusage", "journeys_dailycontactusage"]


class Migration(migrations.Migration):
    dependencies = [("journeys", "0003_organization_indexes_lead_composites")]

    operations = [
        migrations.RunSQL(
            [f"ALTER TABLE {table} SET (fillfactor = 70)" for table in ROLLUPS],
            [f"ALTER TABLE {table} RESET (fillfactor)" for table in ROLLUPS],
        )
    ]
