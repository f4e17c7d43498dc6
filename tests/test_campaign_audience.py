"""A campaign's audience: a saved segment, former customers excluded by default, and a
preview before "Send now" from the same planning as the send, confirmed once."""

import threading
import zoneinfo
from datetime import date, timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from csplatform.models import OutboxMessage
from csplatform.tenancy import tenant_context
from surveys import campaign_services, sending
from surveys.models import Campaign, SurveyInvitation
from tests.factories import (
    AccountFactory,
    CampaignFactory,
    ContactFactory,
    OrganizationFactory,
    SegmentFactory,
    SubscriptionFactory,
    SurveyFactory,
    SurveyInvitationFactory,
)


def _former_customer(name="Gone Ltda.", **account):
    """An account whose only subscription ended months ago (the reported defect)."""
    gone = AccountFactory(name=name, **account)
    SubscriptionFactory(
        account=gone,
        started_on=timezone.now().date() - timedelta(days=700),
        ended_on=timezone.now().date() - timedelta(days=120),
    )
    return gone


def _customer(**account):
    paying = AccountFactory(**account)
    SubscriptionFactory(account=paying, started_on=date(2025, 2, 1))
    return paying


def _emails(campaign):
    return {
        i.contact.email: i.skip_reason
        for i in SurveyInvitation.objects.filter(campaign=campaign).select_related("contact")
    }


@pytest.fixture
def mixed(db):
    """An organization (quiet 90 days, 2 surveys an account a month) whose audience has
    a contact for every reason to skip, and two to email, at two accounts."""
    org = OrganizationFactory(survey_quiet_days=90, survey_account_monthly_cap=2)
    now = timezone.now()
    with tenant_context(org):
        acme = _customer(name="Acme")
        for name in ("a1", "a2", "a3"):  # the third is over the monthly cap
            ContactFactory(account=acme, email=f"{name}@acme.example")
        ContactFactory(account=acme, email="out@acme.example", opted_out_at=now)
        quiet = ContactFactory(account=acme, email="quiet@acme.example")
        # Surveyed within the quiet period but in an earlier month of the organization's
        # calendar, whatever today is: it counts for the quiet period, not the cap.
        local = timezone.localtime(now, zoneinfo.ZoneInfo(org.time_zone))
        earlier = local - timedelta(days=local.day + 5)
        SurveyInvitationFactory(contact=quiet, status="sent", sent_at=earlier)
        beta = _customer(name="Beta")
        ContactFactory(account=beta, email="b1@beta.example")
        ContactFactory(account=beta, email="")  # no address on file
        ContactFactory(account=_former_customer(), email="old@gone.example")
        campaign = CampaignFactory(name="Q4 NPS")
    return org, campaign


def test_it_skips_a_former_customers_contacts_by_default(mixed):
    org, campaign = mixed
    with tenant_context(org):
        sending.campaign_send_start(campaign)
        assert _emails(campaign)["old@gone.example"] == "former_customer"


def test_it_asks_former_customers_when_the_campaign_includes_them(mixed):
    org, campaign = mixed
    with tenant_context(org):
        campaign.include_former_customers = True
        campaign.save()
        sending.campaign_send_start(campaign)
        assert _emails(campaign)["old@gone.example"] == ""


def test_it_previews_exactly_what_the_send_then_does(mixed):
    org, campaign = mixed
    now = timezone.now()
    with tenant_context(org):
        preview = sending.campaign_send_start(campaign, now=now, dry_run=True)
        sent = sending.campaign_send_start(campaign, now=now)
    assert preview.skipped == {
        "former_customer": 1,
        "no_email": 1,
        "opted_out": 1,
        "quiet_period": 1,
        "account_cap": 1,
    }
    assert (preview.pending, preview.accounts) == (3, 2)
    assert (sent.send_number, sent.pending, sent.accounts, sent.skipped) == (
        preview.send_number,
        preview.pending,
        preview.accounts,
        preview.skipped,
    )


def test_it_writes_nothing_in_a_dry_run(mixed):
    org, campaign = mixed
    with tenant_context(org):
        before = (SurveyInvitation.objects.count(), OutboxMessage.objects.count())
        sending.campaign_send_start(campaign, dry_run=True)
        assert (SurveyInvitation.objects.count(), OutboxMessage.objects.count()) == before


def test_it_prints_the_preview_from_the_command_line_and_writes_nothing(mixed, capsys):
    org, _campaign = mixed
    with tenant_context(org):
        before = (SurveyInvitation.objects.count(), OutboxMessage.objects.count())
    call_command("send_survey", "--org", org.slug, "--campaign", "Q4 NPS", "--dry-run")
    out = capsys.readouterr().out
    assert "nothing was written" in out
    assert "Would email 3 contacts at 2 accounts, of 8 contacts in the audience." in out
    assert "excluded 1: The account is a former customer." in out
    assert "excluded 1: The contact has no email address." in out
    assert "excluded 1: The account reached its surveys for the month." in out
    with tenant_context(org):
        assert (SurveyInvitation.objects.count(), OutboxMessage.objects.count()) == before


def test_it_asks_only_the_segments_accounts_and_never_another_organizations(db):
    org, other = OrganizationFactory(), OrganizationFactory()
    with tenant_context(other):
        ContactFactory(account=_customer(segment="Enterprise"), email="theirs@x.example")
    with tenant_context(org):
        ContactFactory(account=_customer(segment="Enterprise"), email="ours@x.example")
        ContactFactory(account=_customer(segment="SMB"), email="smb@x.example")
        campaign = CampaignFactory(audience=SegmentFactory(filters={"segment": "Enterprise"}))
        preview = campaign_services.campaign_preview(campaign=campaign)
        sending.campaign_send_start(campaign)
        assert (preview.pending, preview.contacts) == (1, 1)
        assert list(_emails(campaign)) == ["ours@x.example"]


# --- the pages: preview, confirmation ------------------------------------------------------


def _preview_url(org, campaign):
    return reverse(
        "surveys:campaign_preview", kwargs={"org_slug": org.slug, "campaign_id": campaign.pk}
    )


def _send_url(org, campaign):
    return reverse(
        "surveys:campaign_send", kwargs={"org_slug": org.slug, "campaign_id": campaign.pk}
    )


@pytest.fixture
def ready(team):
    """A campaign of `team`'s organization with two customers' contacts and one former
    customer's."""
    org = team.organization
    with tenant_context(org):
        ContactFactory(account=_customer(), email="one@x.example")
        ContactFactory(account=_customer(), email="two@x.example")
        ContactFactory(account=_former_customer(), email="old@x.example")
        campaign = CampaignFactory(name="Renewal CSAT")
    return org, campaign


def _fingerprint(response):
    return response.context["plan"].fingerprint


def test_it_shows_who_will_be_emailed_and_every_exclusion(team, signed_in, ready):
    org, campaign = ready
    response = signed_in(team.admin).get(_preview_url(org, campaign))
    text = response.content.decode()
    assert response.status_code == 200
    assert "2 contacts will be emailed" in text
    assert "at 2 accounts" in text
    assert "The account is a former customer." in text
    assert "Send now to 2 contacts" in text
    assert dict(response.context["exclusions"])["The account is a former customer."] == 1


def test_it_sends_a_preview_confirmed_twice_once(team, signed_in, ready):
    org, campaign = ready
    client = signed_in(team.admin)
    fingerprint = _fingerprint(client.get(_preview_url(org, campaign)))
    first = client.post(_send_url(org, campaign), {"fingerprint": fingerprint})
    second = client.post(_send_url(org, campaign), {"fingerprint": fingerprint})
    assert first.status_code == 302
    assert second.status_code in (302, 409)
    with tenant_context(org):
        assert SurveyInvitation.objects.filter(status="pending").count() == 2
        assert set(SurveyInvitation.objects.values_list("send_number", flat=True)) == {1}


@pytest.mark.django_db(transaction=True)
def test_it_sends_once_when_two_confirmations_arrive_together(client):
    from accounts.models import Role
    from tests.factories import MembershipFactory

    org = OrganizationFactory()
    admin = MembershipFactory(organization=org, role=Role.ADMIN).user
    with tenant_context(org):
        ContactFactory(account=_customer(), email="one@x.example")
        campaign = CampaignFactory()
        fingerprint = campaign_services.campaign_preview(campaign=campaign).fingerprint
    barrier = threading.Barrier(2)
    statuses = []

    def confirm():
        from django.test import Client

        try:
            browser = Client()
            browser.force_login(admin, backend="django.contrib.auth.backends.ModelBackend")
            barrier.wait()
            response = browser.post(_send_url(org, campaign), {"fingerprint": fingerprint})
            statuses.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=confirm) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) in ([302, 302], [302, 409])
    with tenant_context(org):
        assert SurveyInvitation.objects.count() == 1
        assert set(SurveyInvitation.objects.values_list("send_number", flat=True)) == {1}


def test_it_shows_the_new_preview_when_the_audience_changed(team, signed_in, ready):
    org, campaign = ready
    client = signed_in(team.admin)
    fingerprint = _fingerprint(client.get(_preview_url(org, campaign)))
    with tenant_context(org):
        ContactFactory(account=_customer(), email="new@x.example")
    response = client.post(_send_url(org, campaign), {"fingerprint": fingerprint})
    assert response.status_code == 409
    assert "has changed since the preview" in response.content.decode()
    assert "3 contacts will be emailed" in response.content.decode()
    with tenant_context(org):
        assert not SurveyInvitation.objects.exists()


def test_it_shows_the_new_preview_when_the_survey_changed(team, signed_in, ready):
    """The preview named a survey: a confirmation of it does not send another."""
    org, campaign = ready
    client = signed_in(team.admin)
    fingerprint = _fingerprint(client.get(_preview_url(org, campaign)))
    with tenant_context(org):
        campaign.survey = SurveyFactory(name="Another survey")
        campaign.save(update_fields=["survey"])
    response = client.post(_send_url(org, campaign), {"fingerprint": fingerprint})
    assert response.status_code == 409
    with tenant_context(org):
        assert not SurveyInvitation.objects.exists()


def test_it_refuses_to_send_to_a_segment_that_matches_nobody(team, signed_in):
    org = team.organization
    with tenant_context(org):
        ContactFactory(account=_customer(), email="one@x.example")
        nobody = SegmentFactory(name="Nobody", filters={"q": "no such account"})
        campaign = CampaignFactory(audience=nobody)
    client = signed_in(team.admin)
    preview = client.get(_preview_url(org, campaign))
    assert "0 contacts will be emailed" in preview.content.decode()
    assert "Nobody would be emailed" in preview.content.decode()
    assert "Send now to" not in preview.content.decode()
    response = client.post(
        _send_url(org, campaign), {"fingerprint": _fingerprint(preview)}, follow=True
    )
    assert "Nobody would be emailed: no contact of this audience" in response.content.decode()
    with tenant_context(org):
        assert not SurveyInvitation.objects.exists()


def test_it_shows_the_preview_when_a_scheduled_campaign_is_saved(team, signed_in, ready):
    org, _campaign = ready
    with tenant_context(org):
        survey = SurveyFactory()
        segment = SegmentFactory(name="Customers", filters={"customer": "customer"})
    response = signed_in(team.admin).post(
        reverse("surveys:campaign_create", kwargs={"org_slug": org.slug}),
        {
            "campaign-survey": survey.pk,
            "campaign-name": "Monthly NPS",
            "campaign-audience": segment.pk,
            "campaign-starts_at": "2027-01-04T09:00",
            "campaign-repeat_every_days": "30",
        },
        follow=True,
    )
    text = response.content.decode()
    assert response.redirect_chain[-1][0].endswith("/preview/")
    assert "2 contacts will be emailed" in text
    assert "A scheduled send asks the audience as it is when it starts" in text
    with tenant_context(org):
        created = Campaign.objects.get(name="Monthly NPS")
        assert (created.audience, created.include_former_customers) == (segment, False)
        assert not SurveyInvitation.objects.filter(campaign=created).exists()


def test_it_answers_another_organizations_campaign_preview_with_a_404(team, signed_in):
    with tenant_context(OrganizationFactory()):
        theirs = CampaignFactory()
    assert signed_in(team.owner).get(_preview_url(team.organization, theirs)).status_code == 404
