"""Currencies (docs/metrics.md#currencies): exchange rates imported from the ECB's file
or a plain one, each subscription converted at its start day's rate, the figures in the
reporting currency, and a subscription without a rate refused or named, never counted
at 1:1 nor silently dropped."""

import re
from datetime import date, timedelta
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from accounts.customers import accounts_upsert, subscriptions_upsert
from accounts.fx import subscription_rates_refresh
from accounts.models import Account, ExchangeRate, ImportUpload, Role, Subscription
from csplatform.batches import RowsRejected
from csplatform.imports import ImportRejected, import_file
from csplatform.tenancy import tenant_context
from metrics import services
from metrics.models import MetricsState, MonthlyMetrics
from tests.factories import (
    MembershipFactory,
    OrganizationFactory,
    SubscriptionFactory,
    subscription_row,
)

pytestmark = pytest.mark.django_db

ECB_FILE = Path(__file__).parent / "fixtures" / "eurofxref-hist.csv"
TODAY = date(2025, 7, 15)


@pytest.fixture
def org():
    return OrganizationFactory(slug="acme-br", currency="BRL", time_zone="America/Sao_Paulo")


def run(org, content, *, dry_run=False):
    data = content if isinstance(content, bytes) else content.encode()
    with tenant_context(org):
        return import_file(
            "exchange_rates", data, context={"time_zone": org.time_zone}, dry_run=dry_run
        )


def rejected(org, content):
    with pytest.raises(ImportRejected) as excinfo:
        run(org, content)
    return [(e.line, e.column) for e in excinfo.value.errors], excinfo.value


def rates(org):
    with tenant_context(org):
        return {
            (r.currency, r.day.isoformat()): r.rate
            for r in ExchangeRate.objects.order_by("currency", "day")
        }


def usd_row(external_id, account, amount, started_on, ended_on=None, interval="month"):
    return {
        **subscription_row(external_id, account, amount, started_on, ended_on, interval),
        "currency": "USD",
    }


# --- the files ---------------------------------------------------------------------------


def test_it_reads_the_ecbs_file_as_published_deriving_cross_rates(org):
    report = run(org, ECB_FILE.read_bytes())
    stored = rates(org)
    # rate(C→BRL) = EUR_BRL ÷ EUR_C, by hand: 5.3584 ÷ 1.0921, 5.3584 ÷ 158.61.
    assert stored[("USD", "2024-01-05")] == Decimal("4.906510392821")
    assert stored[("JPY", "2024-01-05")] == Decimal("0.033783494105")
    assert stored[("USD", "2024-01-04")] == Decimal("4.907148726376")  # 5.3748 ÷ 1.0953
    # The euro itself: EUR_BRL.
    assert stored[("EUR", "2024-01-05")] == Decimal("5.3584")
    # N/A: no rate that day (CYP in 2024); 1999 is before any subscription (skipped).
    assert ("CYP", "2024-01-05") not in stored
    assert not [key for key in stored if key[1] == "1999-01-04"]
    assert ("BRL", "2024-01-05") not in stored  # the reporting currency is always 1
    # 3 days × (EUR + the 29 other currencies quoted in 2024, BRL aside)
    assert report.result.created == len(stored) == 3 * 30


def test_it_derives_rates_to_the_euro_as_the_inverse_of_the_ecbs(org):
    euro = OrganizationFactory(slug="acme-eu", currency="EUR")
    run(euro, ECB_FILE.read_bytes())
    stored = rates(euro)
    assert stored[("USD", "2024-01-05")] == Decimal("0.915667063456")  # 1 ÷ 1.0921
    assert ("EUR", "2024-01-05") not in stored
    assert stored[("GBP", "2024-01-03")] == Decimal("1.158949991308")  # 1 ÷ 0.86285
    assert not [key for key in stored if key[1] == "1999-01-04"]  # before 2000: skipped


def test_it_refuses_an_ecb_file_without_the_reporting_currency(org):
    peso = OrganizationFactory(slug="acme-ar", currency="ARS")
    problems, error = rejected(peso, ECB_FILE.read_bytes())
    assert problems == [(1, "-")]
    assert "ARS" in str(error.errors[0].message)
    assert rates(peso) == {}


def test_it_reads_a_plain_file_with_decimal_commas_in_latin_1(org):
    content = "data;moeda;taxa\n"  # wrong header first: the columns are named
    problems, _error = rejected(org, content)
    assert (1, "date") in problems
    plain = "date;currency;rate\n02/01/2025;usd;6,1812\n2025-01-03;EUR;6,40\n"
    assert run(org, plain.encode("cp1252")).result.created == 2
    assert rates(org) == {
        ("EUR", "2025-01-03"): Decimal("6.4"),
        ("USD", "2025-01-02"): Decimal("6.1812"),
    }


def test_it_replaces_a_day_imported_again(org):
    run(org, "date,currency,rate\n2025-01-02,USD,6.18\n2025-01-03,USD,6.20\n")
    again = run(org, "date,currency,rate\n2025-01-02,USD,6.10\n2025-01-03,USD,6.20\n")
    assert (again.result.created, again.result.updated, again.result.unchanged) == (0, 1, 1)
    assert rates(org)[("USD", "2025-01-02")] == Decimal("6.1")


@pytest.mark.parametrize(
    ("content", "line", "column", "words"),
    [
        ("date;currency;rate\n2025-01-02;USD;6,18\n2025-01-03;USD;seis\n", 3, "rate", "seis"),
        ("date;currency;rate\n2025-01-02;USD;6,18\n2025-01-03;USD;-1\n", 3, "rate", "-1"),
        ("date;currency;rate\n2025-01-02;USD;6,18\n2025-13-03;USD;6\n", 3, "date", "2025-13-03"),
        ("date;currency;rate\n2025-01-02;USD;6,18\n2025-01-03;XYZ;6\n", 3, "currency", "XYZ"),
        ("date;currency;rate\n2025-01-02;USD;6,18\n2025-01-02;USD;6\n", 3, "date", "twice"),
        ("date;currency;rate\n2025-01-02;USD;6,18\n2025-01-03;BRL;1\n", 3, "currency", "BRL"),
    ],
)
def test_it_names_the_line_and_column_of_a_bad_plain_line_and_writes_nothing(
    org, content, line, column, words
):
    problems, error = rejected(org, content)
    assert problems == [(line, column)]
    assert words in str(error.errors[0].message)
    assert rates(org) == {}


def test_it_names_the_line_and_column_of_a_bad_ecb_value_and_writes_nothing(org):
    lines = ECB_FILE.read_text().splitlines()
    lines[2] = lines[2].replace(",1.0953,", ",1,0953,", 1)  # a decimal comma: one cell more
    problems, _error = rejected(org, "\n".join(lines))
    assert problems == [(3, "43")]
    lines = ECB_FILE.read_text().splitlines()
    lines[3] = lines[3].replace(",155.52,", ",abc,", 1)
    problems, error = rejected(org, "\n".join(lines))
    assert problems == [(4, "JPY")]
    assert "abc" in str(error.errors[0].message)
    assert rates(org) == {}
    lines = ECB_FILE.read_text().splitlines()
    lines[1] = lines[1].replace("2024-01-05", "05/01/2024", 1)
    problems, _error = rejected(org, "\n".join(lines))
    assert problems == [(2, "Date")]
    assert rates(org) == {}


def test_it_imports_rates_by_command_and_by_the_page(org, signed_in, tmp_path):
    path = tmp_path / "eurofxref-hist.csv"
    path.write_bytes(ECB_FILE.read_bytes())
    out, err = StringIO(), StringIO()
    call_command("import_fx_rates", "--org", "acme-br", str(path), stdout=out, stderr=err)
    assert "90 were created" in out.getvalue()
    assert "Reading the file" in err.getvalue()
    bad = tmp_path / "bad.csv"
    bad.write_text("date;currency;rate\n2025-01-02;USD;x\n")
    with pytest.raises(CommandError, match="nothing was imported"):
        call_command("import_fx_rates", "--org", "acme-br", str(bad), stderr=StringIO())

    admin = MembershipFactory(organization=org, role=Role.ADMIN).user
    client = signed_in(admin)
    page = client.post(
        reverse("accounts:imports", kwargs={"org_slug": org.slug}),
        {
            "kind": "exchange_rates",
            "file": _uploaded("taxas.csv", b"date;currency;rate\n2025-02-03;USD;5,90\n"),
        },
        follow=True,
    ).content.decode()
    assert "1 row of exchange rates" in page
    with tenant_context(org):
        upload = ImportUpload.objects.get()
    confirm = reverse(
        "accounts:import_confirm", kwargs={"org_slug": org.slug, "upload_id": upload.pk}
    )
    client.post(confirm)
    assert rates(org)[("USD", "2025-02-03")] == Decimal("5.9")


def _uploaded(name, content):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content)


# --- conversion ----------------------------------------------------------------------------


@pytest.fixture
def usd_customers(org):
    """A BRL organization with a customer billed in USD: 100 USD a month from
    2025-01-10 (at 6.00), changed to 120 USD from 2025-03-05 (at 5.00, the rate having
    moved on 2025-03-01)."""
    run(org, "date;currency;rate\n2025-01-01;USD;6,00\n2025-03-01;USD;5,00\n")
    with tenant_context(org):
        accounts_upsert([{"external_id": "a1", "name": "Acme Inc."}])
        subscriptions_upsert(
            [
                usd_row("s1", "a1", 10_000, date(2025, 1, 10), date(2025, 3, 5)),
                usd_row("s2", "a1", 12_000, date(2025, 3, 5)),
            ]
        )
    return org


def _months(org):
    with tenant_context(org):
        services.metrics_recompute(full=True, today=TODAY)
        return {m.month.strftime("%Y-%m"): m for m in MonthlyMetrics.objects.order_by("month")}


def test_it_converts_each_subscription_at_its_start_days_rate(usd_customers):
    with tenant_context(usd_customers):
        stored = {
            s.external_id: (s.fx_rate, s.mrr_cents, s.reported_mrr_cents)
            for s in Subscription.objects.all()
        }
    assert stored == {"s1": (Decimal(6), 10_000, 60_000), "s2": (Decimal(5), 12_000, 60_000)}
    months = _months(usd_customers)
    assert months["2025-01"].mrr == 60_000
    assert months["2025-01"].new == 60_000
    # 100 USD at 6.00 became 120 USD at 5.00: the same 600 BRL. The contract grew 20 %,
    # the dollar fell: no expansion, no contraction (each row at its own start's rate).
    assert (months["2025-03"].mrr, months["2025-03"].expansion) == (60_000, 0)
    assert months["2025-03"].contraction == 0
    assert months["2025-03"].arpa == 60_000


def test_it_never_rewrites_history_when_a_later_rate_arrives(usd_customers):
    before = {k: m.mrr for k, m in _months(usd_customers).items()}
    run(usd_customers, "date;currency;rate\n2025-06-01;USD;4,00\n")
    with tenant_context(usd_customers):
        assert MetricsState.objects.get().dirty_since is None  # nothing changed
    assert {k: m.mrr for k, m in _months(usd_customers).items()} == before


def test_it_converts_again_and_marks_metrics_stale_when_a_day_is_corrected(usd_customers):
    _months(usd_customers)
    run(usd_customers, "date;currency;rate\n2025-03-01;USD;5,50\n")
    with tenant_context(usd_customers):
        assert Subscription.objects.get(external_id="s2").reported_mrr_cents == 66_000
        assert MetricsState.objects.get().dirty_since == date(2025, 3, 1)
    months = _months(usd_customers)
    assert (months["2025-03"].mrr, months["2025-03"].expansion) == (66_000, 6_000)


def test_it_keeps_single_currency_figures_exactly(org):
    with tenant_context(org):
        accounts_upsert([{"external_id": "a1", "name": "A1"}])
        subscriptions_upsert(
            [subscription_row("s1", "a1", 100_001, date(2025, 1, 1), interval="quarter")]
        )
        subscription = Subscription.objects.get()
    assert subscription.fx_rate == 1
    assert subscription.reported_mrr_cents == subscription.mrr_cents == 33_334


# --- missing rates -------------------------------------------------------------------------


def test_it_refuses_a_subscription_in_a_currency_without_a_rate_by_csv(org):
    run(org, "date;currency;rate\n2025-03-01;USD;5,00\n")
    with tenant_context(org):
        accounts_upsert([{"external_id": "a1", "name": "A1"}])
    content = (
        "external_id;account_external_id;plan;amount;currency;billing_interval;started_on\n"
        "s1;a1;Pro;100,00;USD;month;2025-03-02\n"
        "s2;a1;Pro;100,00;USD;month;2025-02-27\n"
        "s3;a1;Pro;100,00;EUR;month;2025-03-02\n"
    )
    with tenant_context(org), pytest.raises(ImportRejected) as excinfo:
        import_file("subscriptions", content.encode(), context={"time_zone": org.time_zone})
    errors = {(e.line, e.column): str(e.message) for e in excinfo.value.errors}
    assert set(errors) == {(3, "currency"), (4, "currency")}
    assert "USD" in errors[(3, "currency")]
    assert "2025-02-27" in errors[(3, "currency")]
    assert "EUR" in errors[(4, "currency")]
    assert "2025-03-02" in errors[(4, "currency")]
    with tenant_context(org):
        assert not Subscription.objects.exists()


def test_it_refuses_a_subscription_in_a_currency_without_a_rate_by_the_api(org, client):
    from accounts.services import api_key_create

    owner = MembershipFactory(organization=org, role=Role.OWNER).user
    with tenant_context(org):
        _api_key, key = api_key_create(name="tests", created_by=owner)
        accounts_upsert([{"external_id": "a1", "name": "A1"}])
    body = {
        "external_id": "s1",
        "account_external_id": "a1",
        "plan": "Pro",
        "amount": 10_000,
        "currency": "usd",
        "billing_interval": "month",
        "started_on": "2025-03-02",
    }
    response = client.post(
        "/api/v1/subscriptions/",
        body,
        content_type="application/json",
        headers={"authorization": f"Bearer {key}"},
    )
    assert response.status_code == 400
    assert "USD" in " ".join(response.json()["currency"])
    assert "2025-03-02" in " ".join(response.json()["currency"])
    run(org, "date;currency;rate\n2025-03-01;USD;5,00\n")
    created = client.post(
        "/api/v1/subscriptions/",
        body,
        content_type="application/json",
        headers={"authorization": f"Bearer {key}"},
    )
    assert created.status_code == 201
    assert (created.json()["mrr"], created.json()["reported_mrr"]) == (10_000, 50_000)
    assert Decimal(created.json()["fx_rate"]) == 5


@pytest.fixture
def unrated(org):
    """A BRL customer and one billed in USD with no rate, as a billing sync could write
    it (straight to the table, not through the services that refuse it)."""
    with tenant_context(org):
        accounts_upsert(
            [{"external_id": "a1", "name": "Padaria"}, {"external_id": "a2", "name": "Globex"}]
        )
        subscriptions_upsert([subscription_row("s1", "a1", 50_000, date(2025, 1, 1))])
        SubscriptionFactory(
            external_id="stripe-sub-9",
            account=Account.objects.get(external_id="a2"),
            currency="USD",
            amount_cents=10_000,
            started_on=date(2025, 2, 1),
        )
    return org


def test_it_leaves_out_and_names_a_subscription_without_a_rate(unrated, signed_in):
    with tenant_context(unrated):
        assert Subscription.objects.get(external_id="stripe-sub-9").reported_mrr_cents is None
    months = _months(unrated)
    assert months["2025-03"].mrr == 50_000  # not 60,000 (1:1) and not dropped unseen
    assert months["2025-03"].customers == 1
    manager = MembershipFactory(organization=unrated, role=Role.MANAGER).user
    client = signed_in(manager)
    slug = unrated.slug
    with tenant_context(unrated):
        globex = Subscription.objects.get(external_id="stripe-sub-9").account
    for url in (
        reverse("dashboards:revenue", kwargs={"org_slug": slug}),
        reverse("dashboards:executive", kwargs={"org_slug": slug}),
        reverse("dashboards:account", kwargs={"org_slug": slug, "account_id": globex.pk}),
    ):
        page = client.get(url).content.decode()
        assert "Missing exchange rates" in page, url
        for name in ("stripe-sub-9", "Globex", "USD"):
            assert name in page, (url, name)
    # Rates arrive: converted, counted, no longer named.
    run(unrated, "date;currency;rate\n2025-01-31;USD;5,00\n")
    assert _months(unrated)["2025-03"].mrr == 100_000
    page = client.get(reverse("dashboards:revenue", kwargs={"org_slug": slug})).content.decode()
    assert "Missing exchange rates" not in page


def test_it_shows_the_billed_and_the_reported_amounts_on_the_360_page(usd_customers, signed_in):
    manager = MembershipFactory(organization=usd_customers, role=Role.MANAGER).user
    with tenant_context(usd_customers):
        account = Subscription.objects.get(external_id="s2").account
    page = (
        signed_in(manager)
        .get(
            reverse(
                "dashboards:account",
                kwargs={"org_slug": usd_customers.slug, "account_id": account.pk},
            )
        )
        .content.decode()
    )
    assert "$120.00" in page  # billed, in USD
    assert "R$600.00" in page  # reported, in BRL
    assert "1 USD = 5 BRL on" in page


def test_it_shows_mrr_and_arpa_in_the_reporting_currency_on_the_revenue_page(
    usd_customers, signed_in
):
    _months(usd_customers)
    manager = MembershipFactory(organization=usd_customers, role=Role.MANAGER).user
    page = (
        signed_in(manager)
        .get(reverse("dashboards:revenue", kwargs={"org_slug": usd_customers.slug}))
        .content.decode()
    )
    assert "R$600.00" in page
    assert "$120.00" not in page


# --- tenancy -------------------------------------------------------------------------------


def test_it_never_uses_another_organizations_rates(org):
    other = OrganizationFactory(slug="other", currency="BRL")
    run(other, "date;currency;rate\n2025-01-01;USD;6,00\n")
    with tenant_context(org):
        accounts_upsert([{"external_id": "a1", "name": "A1"}])
        with pytest.raises(RowsRejected):
            subscriptions_upsert([usd_row("s1", "a1", 10_000, date(2025, 2, 1))])
        assert subscription_rates_refresh() == 0
    assert rates(org) == {}


def test_it_hides_another_organizations_rate_upload(org, team, signed_in):
    admin = MembershipFactory(organization=org, role=Role.ADMIN).user
    client = signed_in(admin)
    client.post(
        reverse("accounts:imports", kwargs={"org_slug": org.slug}),
        {
            "kind": "exchange_rates",
            "file": _uploaded("taxas.csv", b"date;currency;rate\n2025-02-03;USD;5,90\n"),
        },
    )
    with tenant_context(org):
        upload = ImportUpload.objects.get()
    outsider = signed_in(team.owner)
    url = reverse(
        "accounts:import_preview",
        kwargs={"org_slug": team.organization.slug, "upload_id": upload.pk},
    )
    assert outsider.get(url).status_code == 404


def test_it_reads_the_ecbs_daily_file_too(org):
    daily = (
        "Date, USD, JPY, BRL, \n"  # eurofxref.csv: spaces after the commas, a long date
        "05 January 2024, 1.0921, 158.61, 5.3584, \n"
    )
    run(org, daily)
    assert rates(org)[("USD", "2024-01-05")] == Decimal("4.906510392821")


def test_it_tells_a_portuguese_reader_which_rates_are_missing(unrated, signed_in):
    reader = MembershipFactory(organization=unrated, role=Role.VIEWER, user__language="pt-br").user
    page = (
        signed_in(reader)
        .get(reverse("dashboards:executive", kwargs={"org_slug": unrated.slug}))
        .content.decode()
    )
    assert "Taxas de câmbio faltando" in page
    assert "1 assinatura não tem taxa de câmbio para BRL" in page
    assert "Peça a um administrador da sua organização para importar as taxas" in page
    assert "USD" in page


def test_it_shows_a_board_viewer_counts_per_currency_not_account_names(unrated, signed_in):
    with tenant_context(unrated):
        SubscriptionFactory(
            external_id="stripe-sub-11",
            account=Account.objects.get(external_id="a1"),
            currency="USD",
            amount_cents=5_000,
            started_on=date(2025, 3, 1),
        )
    url = reverse("dashboards:executive", kwargs={"org_slug": unrated.slug})
    viewer = MembershipFactory(organization=unrated, role=Role.VIEWER).user
    page = signed_in(viewer).get(url).content.decode()
    assert "Missing exchange rates" in page
    assert "2 subscriptions have no exchange rate to BRL" in page
    assert re.search(r"<td>USD</td>\s*<td class=\"num\">2</td>", page)
    for name in ("Globex", "Padaria", "stripe-sub-9", "stripe-sub-11"):
        assert name not in page, name
    manager = MembershipFactory(organization=unrated, role=Role.MANAGER).user
    page = signed_in(manager).get(url).content.decode()
    for name in ("Globex", "Padaria", "stripe-sub-9", "stripe-sub-11"):
        assert name in page, name


def test_it_refuses_to_change_the_reporting_currency_once_used(usd_customers):
    from django.core.exceptions import ValidationError

    from accounts.models import Organization

    organization = Organization.objects.get(pk=usd_customers.pk)
    organization.currency = "USD"
    with pytest.raises(ValidationError) as refused:
        organization.full_clean()
    assert "BRL" in str(refused.value.message_dict["currency"])
    empty = Organization.objects.get(pk=OrganizationFactory(currency="BRL").pk)
    empty.currency = "USD"
    empty.full_clean()  # nothing converted yet: it may change


# --- a subscription without a rate, where figures are listed ------------------------------


def _a_year_before(day):
    return date(day.year - 1, day.month, min(day.day, 28))


@pytest.fixture
def unrated_yearly(org):
    """A customer whose only subscription is yearly, billed in USD with no rate (as the
    Stripe sync writes it), renewing in 30 days."""
    from csplatform.clock import organization_today

    today = organization_today(org)
    with tenant_context(org):
        accounts_upsert([{"external_id": "a9", "name": "Globex"}])
        SubscriptionFactory(
            external_id="stripe-sub-10",
            account=Account.objects.get(external_id="a9"),
            currency="USD",
            amount_cents=120_000,
            billing_interval="year",
            # A year before a day 30 days ahead (a 29 February becomes the 28th).
            started_on=_a_year_before(today + timedelta(days=30)),
        )
    return org


def test_it_keeps_a_customer_without_a_rate_a_customer_with_its_renewal(unrated_yearly, signed_in):
    from accounts.segments import segment_accounts
    from csplatform.clock import organization_today

    org = unrated_yearly
    today = organization_today(org)
    with tenant_context(org):
        customers = segment_accounts({"customer": "customer"}, today=today, user_id=None)
        assert [a.name for a in customers] == ["Globex"]
        assert not segment_accounts({"customer": "never"}, today=today, user_id=None).exists()
    client = signed_in(MembershipFactory(organization=org, role=Role.MANAGER).user)
    accounts_url = reverse("dashboards:accounts", kwargs={"org_slug": org.slug})
    page = client.get(accounts_url + "?customer=customer&renewal=90").content.decode()
    assert "Globex" in page
    assert "no exchange rate" in page
    assert "R$0.00" not in page
    assert "Missing exchange rates" in page
    assert "stripe-sub-10" in page
    csv_page = client.get(
        reverse("dashboards:accounts_csv", kwargs={"org_slug": org.slug})
    ).content.decode()
    globex = next(line for line in csv_page.splitlines() if "Globex" in line).split(",")
    assert globex[5] == ""  # unknown, not 0
    workspace = client.get(
        reverse("dashboards:home", kwargs={"org_slug": org.slug}) + "?owner=all"
    ).content.decode()
    assert "Globex" in workspace
    assert "excluding 1 without an exchange rate" in workspace
    assert "Missing exchange rates" in workspace

    run(org, f"date;currency;rate\n{_a_year_before(today)};USD;5,00\n")
    page = client.get(accounts_url + "?customer=customer").content.decode()
    assert "R$500.00" in page  # 1,200 USD a year × 5 ÷ 12
    assert "no exchange rate" not in page


def test_it_refuses_to_change_the_reporting_currency_once_used_through_the_service(
    usd_customers,
):
    from django.core.exceptions import ValidationError

    from accounts.models import Organization
    from accounts.services import organization_update

    organization = Organization.objects.get(pk=usd_customers.pk)
    with pytest.raises(ValidationError) as refused:
        organization_update(organization=organization, values={"currency": "USD"}, actor=None)
    assert "BRL" in str(refused.value.message_dict["currency"])
    assert Organization.objects.get(pk=usd_customers.pk).currency == "BRL"
    empty = OrganizationFactory(currency="BRL")
    organization_update(organization=empty, values={"currency": "USD"}, actor=None)
    assert Organization.objects.get(pk=empty.pk).currency == "USD"


# --- a rate import racing a subscription insert ---------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_it_converts_a_subscription_inserted_while_rates_are_imported():
    """The insert's trigger reads committed rates and the import's refresh reads
    committed subscriptions: without the "fx" lock, a subscription inserted (rate NULL)
    and committed after the import's refresh kept NULL for good."""
    import threading
    import time

    from django.db import connection, transaction

    org = OrganizationFactory(slug="fx-race", currency="BRL")
    with tenant_context(org):
        accounts_upsert([{"external_id": "a1", "name": "Globex"}])
    inserted, importing = threading.Event(), threading.Event()

    def sync_running() -> None:  # what the Stripe sync does: write unrated, then commit
        try:
            with tenant_context(org), transaction.atomic():
                subscriptions_upsert(
                    [usd_row("s1", "a1", 10_000, date(2025, 2, 1))], unrated_allowed=True
                )
                inserted.set()
                importing.wait(timeout=10)
                time.sleep(0.5)  # the import runs meanwhile
        finally:
            connection.close()

    worker = threading.Thread(target=sync_running)
    worker.start()
    assert inserted.wait(timeout=10)
    importing.set()
    run(org, "date;currency;rate\n2025-01-31;USD;5,00\n")
    worker.join(timeout=10)
    with tenant_context(org):
        assert Subscription.objects.get(external_id="s1").fx_rate == 5
