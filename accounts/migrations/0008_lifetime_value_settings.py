import django.core.validators
from decimal import Decimal
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0007_organization_indexes_lead_composites"),
    ]

    operations = [
        migrations.AddField(
            model_name="organization",
            name="annual_discount_rate",
            field=models.DecimalField(
                db_default=Decimal("0.100"),
                decimal_places=3,
                default=Decimal("0.100"),
                help_text="Discounts future revenue in projected lifetime value.",
                max_digits=4,
                validators=[
                    django.core.validators.MinValueValidator(Decimal("0")),
                    django.core.validators.MaxValueValidator(Decimal("1")),
                ],
                verbose_name="annual discount rate",
            ),
        ),
        migrations.AddField(
            model_name="organization",
            name="gross_margin",
            field=models.DecimalField(
                db_default=Decimal("1.000"),
                decimal_places=3,
                default=Decimal("1.000"),
                help_text="Share of revenue kept after the cost of serving it (lifetime value).",
                max_digits=4,
                validators=[
                    django.core.validators.MinValueValidator(Decimal("0.001")),
                    django.core.validators.MaxValueValidator(Decimal("1")),
                ],
                verbose_name="gross margin",
            ),
        ),
    ]
