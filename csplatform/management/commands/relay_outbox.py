from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from csplatform.outbox import outbox_relay


class Command(BaseCommand):
    help = (
        "Queue again the follow-up work (recomputes, emails) whose task never ran, say "
        "while Redis was down. Beat does this every minute; run it after an outage to "
        "catch up at once."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--all",
            action="store_true",
            help="Every waiting message, not only those overdue (after an outage).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        queued = outbox_relay(everything=options["all"])
        self.stdout.write(f"{queued} task(s) queued from the outbox")
