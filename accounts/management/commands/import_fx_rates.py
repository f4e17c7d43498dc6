from typing import Any

from django.core.management.base import CommandParser

from accounts.management.commands.import_csv import Command as ImportCsvCommand


class Command(ImportCsvCommand):
    help = (
        "Import exchange rates into an organization, all or nothing: the European Central "
        "Bank's eurofxref-hist.csv as published (cross rates to the organization's "
        "reporting currency are derived) or a plain date;currency;rate file. A day "
        "imported again is replaced. See docs/import.md#exchange-rates."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        # The kind is fixed: the file is the only positional argument.
        parser._actions = [a for a in parser._actions if a.dest != "kind"]
        parser._positionals._group_actions = [
            a for a in parser._positionals._group_actions if a.dest != "kind"
        ]

    def handle(self, *args: Any, **options: Any) -> None:
        super().handle(*args, **{**options, "kind": "exchange_rates"})
