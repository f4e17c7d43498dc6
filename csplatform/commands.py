"""What the management commands share: one way to name the organization a command acts on
(`--org SLUG`, with `--organization` as its alias, in every command)."""

from __future__ import annotations

from typing import Any, Protocol

from django.core.management.base import CommandError

from csplatform.tenancy import organization_model


class _TakesArguments(Protocol):  # a parser, or one of its groups
    def add_argument(self, *args: Any, **kwargs: Any) -> Any: ...


def org_argument_add(parser: _TakesArguments, *, required: bool = True) -> None:
    """Add `--org SLUG` (alias `--organization`) to a command or a group of its options,
    read as options["org"]."""
    parser.add_argument(
        "--org",
        "--organization",
        dest="org",
        metavar="SLUG",
        required=required,
        help="The organization's slug.",
    )


def org_from_options(options: dict[str, Any]) -> Any:
    """The organization `--org` names, or a CommandError that says which slug is unknown."""
    organization = organization_model().objects.filter(slug=options["org"]).first()
    if organization is None:
        raise CommandError(f"No organization has the slug {options['org']!r}.")
    return organization
