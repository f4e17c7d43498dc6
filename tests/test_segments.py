"""Saved segments: each filter, the filters' validation, one evaluation for the accounts
list and a campaign, tenancy, and the builder and saved-view pages."""

from datetime import date

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts import segment_services
from accounts.models import Segment
from accounts.segments import filters_clean, segment_accounts
from csplatform.tenancy import tenant_context
from metrics.health.inputs import customers_on
from metrics.models import AccountHealth
from metrics.portfolio_selectors import AccountFilters, account_list
from metrics.services import subscriptions_frame
from tests.factories import (
    AccountFactory,
    CampaignFactory,
    ContactFactory,
    LifecycleStageFactory,
    MembershipFactory,
    OrganizationFactory,
    SegmentFactory,
    SubscriptionFactory,
)

TODAY = date(2026, 12, 7)


def _names(filters, **kwargs):
    return sorted(a.name for a in segment_accounts(filters_clean(filters), today=TODAY, **kwargs))


@pytest.fixture
def org(db):
    return OrganizationFactory(currency="BRL")


@pytest.fixture
def book(org):
    """Paying now (MRR 500.00 and 2,000.00), a former customer whose subscription ended
    months ago, a prospect that never paid, and a free plan."""
    with tenant_context(org):
        small = AccountFactory(name="Small", external_id="sm-1", segment="SMB")
        SubscriptionFactory(account=small, amount_cents=50_000, started_on=date(2025, 2, 1))
        big = AccountFactory(name="Big Corp", external_id="ent-7", segment="Enterprise")
        SubscriptionFactory(
            account=big,
            amount_cents=2_400_000,
            billing_interval="year",
            started_on=date(2026, 3, 1),
        )
        gone = AccountFactory(name="Gone", external_id="gone-2", segment="SMB")
        SubscriptionFactory(
            account=gone,
            amount_cents=30_000,
            started_on=date(2024, 1, 1),
            ended_on=date(2026, 5, 1),
        )
        AccountFactory(name="Prospect", external_id="pr-3", segment="SMB")
        free = AccountFactory(name="Free", external_id="fr-4", segment="SMB")
        SubscriptionFactory(account=free, amount_cents=0, started_on=date(2025, 1, 1))
    return {"small": small, "big": big, "gone": gone}


def test_it_picks_by_mrr_range_in_cents(org, book):
    with tenant_context(org):
        assert _names({"mrr_min_cents": 100_000}) == ["Big Corp"]
        assert _names({"mrr_max_cents": 50_000}) == ["Free", "Gone", "Prospect", "Small"]
        assert _names({"mrr_min_cents": 50_000, "mrr_max_cents": 200_000}) == [
            "Big Corp",
            "Small",
        ]


def test_it_picks_customers_former_customers_and_never_customers(org, book):
    with tenant_context(org):
        assert _names({"customer": "customer"}) == ["Big Corp", "Small"]
        assert _names({"customer": "former"}) == ["Gone"]
        assert _names({"customer": "never"}) == ["Free", "Prospect"]


def test_it_calls_customer_what_customers_on_does(org, book):
    """The SQL customer filter and metrics.health.inputs.customers_on agree."""
    with tenant_context(org):
        frame = subscriptions_frame()
        for day in (TODAY, date(2026, 4, 30), date(2026, 5, 1), date(2024, 6, 1)):
            expected = set(customers_on(frame, day)["account_id"])
            picked = set(
                segment_accounts({"customer": "customer"}, today=day).values_list("pk", flat=True)
            )
            assert picked == expected, day


def test_it_searches_names_and_external_ids(org, book):
    with tenant_context(org):
        assert _names({"q": "corp"}) == ["Big Corp"]
        assert _names({"q": "GONE-2"}) == ["Gone"]
        assert _names({"q": "nothing like it"}) == []


def test_it_searches_as_the_header_box_does(org, book):
    """The same matches as the search box (accounts.search): accents and typos
    forgiven, contacts' names and emails found."""
    with tenant_context(org):
        ContactFactory(account=book["small"], name="Joana Ávila", email="joana@small.test")
        assert _names({"q": "Bíg"}) == ["Big Corp"]
        assert _names({"q": "big corpp"}) == ["Big Corp"]
        assert _names({"q": "avila"}) == ["Small"]
        assert _names({"q": "joana@small"}) == ["Small"]


def test_it_refuses_a_search_without_two_letters_or_digits():
    with pytest.raises(ValidationError) as refused:
        filters_clean({"q": "-"})
    assert "q" in refused.value.message_dict


def test_it_picks_by_owner_segment_stage_renewal_band_and_flag(org, book):
    ana = MembershipFactory(organization=org).user
    with tenant_context(org):
        LifecycleStageFactory(key="adoption-x", name_en="Adoption X", name_pt_br="Adoção X")
        book["small"].owner = ana
        book["small"].lifecycle_stage = "adoption-x"
        book["small"].save()
        AccountHealth.objects.create(
            account=book["big"], day=TODAY, score=30, band="at_risk", flags=["happy_unengaged"]
        )
        assert _names({"owner": str(ana.pk)}) == ["Small"]
        assert _names({"owner": "me"}, user_id=ana.pk) == ["Small"]
        assert _names({"owner": "me"}) == []  # nobody is "me"
        assert "Small" not in _names({"owner": "none"})
        assert _names({"segment": "Enterprise"}) == ["Big Corp"]
        assert _names({"stage": "adoption-x"}) == ["Small"]
        assert "Small" not in _names({"stage": "none"})
        # The yearly plan renews on 2027-03-01: within 90 days, not within 30.
        assert _names({"renewal_days": 90}) == ["Big Corp"]
        assert _names({"renewal_days": 30}) == []
        assert _names({"band": "at_risk"}) == ["Big Corp"]
        assert "Big Corp" not in _names({"band": "none"})
        assert _names({"flag": "happy_unengaged"}) == ["Big Corp"]


def test_it_lists_the_accounts_a_segment_picks(org, book, team):
    """The accounts list evaluates its filters with segment_accounts: same accounts."""
    filters = filters_clean({"customer": "former", "segment": "SMB"})
    with tenant_context(org):
        listed = account_list(
            filters=AccountFilters(values=filters), user=team.manager, today=TODAY, health_day=None
        )
        assert [a.name for a in listed] == _names(filters) == ["Gone"]


@pytest.mark.parametrize(
    ("filters", "field", "says"),
    [
        ({"mrr_min_cents": 500, "mrr_max_cents": 100}, "mrr_max_cents", "below the minimum"),
        ({"mrr_min_cents": -1}, "mrr_min_cents", "between 0"),
        ({"mrr_max_cents": "lots"}, "mrr_max_cents", "not a whole number"),
        ({"mrr_min_cents": 1.5}, "mrr_min_cents", "not a whole number"),
        ({"customer": "maybe"}, "customer", "“maybe” is not one of"),
        ({"band": "great"}, "band", "“great” is not one of"),
        ({"stage": "nowhere"}, "stage", "not a lifecycle stage"),
        ({"colour": "red"}, "colour", "“colour” is not a filter"),
        ({"q": "x" * 201}, "q", "At most 200 characters"),
        (["segment", "SMB"], "filters", "JSON object"),
    ],
)
def test_it_refuses_bad_filters_naming_the_field(org, filters, field, says):
    with tenant_context(org), pytest.raises(ValidationError) as refused:
        filters_clean(filters)
    assert says in " ".join(refused.value.message_dict[field])


def test_it_stores_keys_and_values_not_words(org, team):
    with tenant_context(org):
        segment = segment_services.segment_create(
            name="Former SMB",
            filters={"customer": "former", "segment": "SMB", "q": " ", "band": ""},
            actor=team.manager,
        )
        assert Segment.objects.get(pk=segment.pk).filters == {
            "customer": "former",
            "segment": "SMB",
        }
        with pytest.raises(ValidationError) as refused:
            segment_services.segment_create(name="Former SMB", filters={}, actor=None)
        assert "exists already" in refused.value.message_dict["name"][0]


def test_it_never_picks_another_organizations_accounts(org, book):
    other = OrganizationFactory()
    with tenant_context(other):
        AccountFactory(name="Their Big Corp", external_id="ent-7", segment="Enterprise")
        theirs = SegmentFactory(filters={})
    with tenant_context(org):
        assert "Their Big Corp" not in _names({})
        assert _names({"q": "Their"}) == []
        assert not Segment.objects.filter(pk=theirs.pk).exists()


def test_it_refuses_to_delete_a_segment_a_campaign_uses(org):
    with tenant_context(org):
        segment = SegmentFactory(name="Churn risk")
        CampaignFactory(name="Win-back NPS", audience=segment)
        with pytest.raises(ValidationError) as refused:
            segment_services.segment_delete(segment=segment, actor=None)
        assert "“Win-back NPS”" in refused.value.messages[0]
        assert Segment.objects.filter(pk=segment.pk).exists()


# --- pages ------------------------------------------------------------------------------


def _url(name, org, **kwargs):
    return reverse(f"dashboards:{name}", kwargs={"org_slug": org.slug, **kwargs})


def test_it_counts_accounts_and_contacts_live_in_the_builder(team, signed_in):
    org = team.organization
    with tenant_context(org):
        for n in range(3):
            ContactFactory(account=AccountFactory(name=f"Enterprise {n}", segment="Enterprise"))
        ContactFactory(account=AccountFactory(segment="SMB"))
    client = signed_in(team.manager)
    response = client.get(
        _url("segment_create", org), {"segment": "Enterprise"}, headers={"HX-Request": "true"}
    )
    text = response.content.decode()
    assert response.status_code == 200
    assert "3 accounts" in text
    assert "3 contacts" in text
    assert "<form" not in text  # only the count
    empty = client.get(_url("segment_create", org), {"q": "no such account"}).content.decode()
    assert "0 accounts" in empty
    assert "No account matches these filters" in empty


def test_it_saves_the_view_and_opens_the_list_with_its_filters(team, signed_in):
    org = team.organization
    with tenant_context(org):
        AccountFactory()
    client = signed_in(team.manager)
    response = client.post(
        _url("segment_create", org),
        {"name": "Big former", "customer": "former", "mrr_min": "1500.50", "segment": ""},
    )
    assert response.status_code == 302
    assert response["Location"].endswith("?customer=former&mrr_min=1500.50")
    with tenant_context(org):
        segment = Segment.objects.get(name="Big former")
    assert segment.filters == {"customer": "former", "mrr_min_cents": 150_050}
    assert segment.created_by == team.manager
    listing = client.get(_url("accounts", org)).content.decode()
    assert "Big former" in listing
    assert "customer=former&amp;mrr_min=1500.50" in listing


@pytest.mark.parametrize(
    ("fields", "field", "says"),
    [
        ({"mrr_min": "900", "mrr_max": "100"}, "mrr_max", "below the minimum"),
        ({"mrr_min": "-5"}, "mrr_min", "greater than or equal to 0"),
        ({"mrr_max": "a lot"}, "mrr_max", "Enter a number"),
    ],
)
def test_it_shows_a_bad_mrr_range_beside_its_field(team, signed_in, fields, field, says):
    client = signed_in(team.manager)
    response = client.post(_url("segment_create", team.organization), {"name": "Odd", **fields})
    assert response.status_code == 400
    form = response.context["form"]
    assert says in " ".join(form.errors[field])
    with tenant_context(team.organization):
        assert not Segment.objects.filter(name="Odd").exists()


def test_it_lets_only_the_creator_or_an_admin_change_a_segment(team, signed_in):
    org = team.organization
    other_manager = MembershipFactory(organization=org, role="manager").user
    with tenant_context(org):
        segment = SegmentFactory(name="Mine", created_by=team.manager)
    edit = _url("segment_edit", org, segment_id=segment.pk)
    assert signed_in(other_manager).post(edit, {"name": "Stolen"}).status_code == 403
    assert signed_in(team.manager).post(edit, {"name": "Renamed"}).status_code == 302
    assert signed_in(team.admin).get(edit).status_code == 200
    delete = _url("segment_delete", org, segment_id=segment.pk)
    assert signed_in(other_manager).post(delete).status_code == 403
    assert signed_in(team.admin).post(delete).status_code == 302
    with tenant_context(org):
        assert not Segment.objects.exists()


def test_it_answers_another_organizations_segment_with_a_404(team, signed_in):
    with tenant_context(OrganizationFactory()):
        theirs = SegmentFactory()
    client = signed_in(team.owner)
    org = team.organization
    assert client.get(_url("segment_edit", org, segment_id=theirs.pk)).status_code == 404
    assert client.post(_url("segment_delete", org, segment_id=theirs.pk)).status_code == 404


def test_it_keeps_the_list_usable_with_a_stale_filter_address(team, signed_in):
    with tenant_context(team.organization):
        AccountFactory(name="Still listed")
    response = signed_in(team.manager).get(
        _url("accounts", team.organization), {"mrr_min": "9", "mrr_max": "1", "customer": "x"}
    )
    assert response.status_code == 200
    assert "Still listed" in response.content.decode()


def test_it_has_an_empty_state_for_saved_views(team, signed_in):
    with tenant_context(team.organization):
        AccountFactory()
    text = signed_in(team.manager).get(_url("accounts", team.organization)).content.decode()
    assert "No saved views yet" in text


def test_it_counts_again_without_javascript_and_saves_nothing(team, signed_in):
    org = team.organization
    with tenant_context(org):
        ContactFactory(account=AccountFactory(segment="Enterprise"))
    response = signed_in(team.manager).post(
        _url("segment_create", org), {"name": "Draft", "segment": "Enterprise", "count": "1"}
    )
    assert response.status_code == 200
    assert "1 account" in response.content.decode()
    with tenant_context(org):
        assert not Segment.objects.exists()
