import pytest
from django.core.management import CommandError, call_command

from accounts.models import Membership, Organization, Role


@pytest.mark.django_db
def test_it_creates_an_organization_with_its_owner(capsys):
    call_command(
        "create_org",
        "acme-brasil",
        name="Acme Brasil",
        owner_email="Dona@Acme.com.br",
        currency="brl",
        time_zone="America/Sao_Paulo",
        locale="pt-br",
    )
    organization = Organization.objects.get(slug="acme-brasil")
    assert (organization.currency, organization.time_zone) == ("BRL", "America/Sao_Paulo")
    owner = Membership.objects.get(organization=organization)
    assert (owner.user.email, owner.role) == ("dona@acme.com.br", Role.OWNER)
    assert "/o/acme-brasil/" in capsys.readouterr().out


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("slug", "options", "message"),
    [
        ("Not A Slug", {}, "slug:"),
        ("ok", {"time_zone": "Mars/Olympus"}, "time_zone: Mars/Olympus is not a time zone"),
        ("ok", {"currency": "REAL"}, "currency:"),
    ],
)
def test_it_names_the_bad_field_and_creates_nothing(slug, options, message):
    with pytest.raises(CommandError, match=message):
        call_command("create_org", slug, name="X", owner_email="o@example.com", **options)
    assert not Organization.objects.exists()


@pytest.mark.django_db
def test_it_refuses_a_slug_that_is_taken():
    call_command("create_org", "taken", name="One", owner_email="a@example.com")
    with pytest.raises(CommandError, match="slug:"):
        call_command("create_org", "taken", name="Two", owner_email="b@example.com")


@pytest.mark.django_db
def test_it_seeds_the_demo_with_three_roles_and_can_run_twice(capsys):
    call_command("seed_demo")
    call_command("seed_demo")
    roles = sorted(
        Membership.objects.filter(organization__slug="demo").values_list("role", flat=True)
    )
    assert roles == sorted([Role.OWNER, Role.MANAGER, Role.VIEWER])
    assert "board@demo.csplatform.test" in capsys.readouterr().out
