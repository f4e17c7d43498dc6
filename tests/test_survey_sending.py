"""Sending a campaign: fatigue control with reasons, one email per invitation even
across a crash, and a real SMTP server whose links record exactly one response."""

import re
from datetime import timedelta

import pytest
from django.core.mail import EmailMultiAlternatives
from django.utils import timezone

from csplatform.tenancy import tenant_context
from surveys import sending
from surveys.models import Response, SurveyInvitation
from surveys.tasks import send_invitations
from tests.factories import (
    AccountFactory,
    CampaignFactory,
    ContactFactory,
    OrganizationFactory,
    SegmentFactory,
    SurveyInvitationFactory,
)


def _statuses(campaign):
    return {
        i.contact.email: (i.status, i.skip_reason)
        for i in SurveyInvitation.objects.filter(campaign=campaign).select_related("contact")
    }


@pytest.mark.django_db
def test_it_skips_opted_out_quiet_and_capped_contacts_and_says_why():
    org = OrganizationFactory(survey_quiet_days=90, survey_account_monthly_cap=2)
    now = timezone.now()
    with tenant_context(org):
        acme = AccountFactory(segment="Enterprise")
        contacts = {
            name: ContactFactory(account=acme, email=f"{name}@acme.example")
            for name in ("out", "quiet", "c1", "c2", "c3")
        }
        contacts["out"].opted_out_at = now
        contacts["out"].save()
        SurveyInvitationFactory(  # another campaign reached "quiet" 40 days ago
            contact=contacts["quiet"], status="sent", sent_at=now - timedelta(days=40)
        )
        smb = AccountFactory(segment="SMB")
        ContactFactory(account=smb, email="smb@smb.example")
        campaign = CampaignFactory(audience=SegmentFactory(filters={"segment": "Enterprise"}))
        plan = sending.campaign_send_start(campaign, now=now)
        statuses = _statuses(campaign)
    assert statuses == {
        "out@acme.example": ("skipped", "opted_out"),
        "quiet@acme.example": ("skipped", "quiet_period"),
        "c1@acme.example": ("pending", ""),
        "c2@acme.example": ("pending", ""),
        "c3@acme.example": ("skipped", "account_cap"),
    }  # and nobody from the SMB account
    assert (plan.send_number, plan.pending) == (1, 2)
    assert plan.skipped == {"opted_out": 1, "quiet_period": 1, "account_cap": 1}


@pytest.mark.django_db
def test_it_counts_this_months_surveys_against_the_accounts_cap():
    org = OrganizationFactory(survey_account_monthly_cap=2)
    now = timezone.now()
    with tenant_context(org):
        account = AccountFactory()
        earlier = ContactFactory(account=account)
        SurveyInvitationFactory(contact=earlier, status="sent", sent_at=now)
        ContactFactory(account=account, email="a@x.example")
        ContactFactory(account=account, email="b@x.example")
        campaign = CampaignFactory()
        plan = sending.campaign_send_start(campaign, now=now + timedelta(seconds=1))
    # `earlier` is quiet; one more of the other two fits in this month's cap of 2.
    assert (plan.pending, plan.skipped) == (1, {"quiet_period": 1, "account_cap": 1})


@pytest.mark.django_db
def test_it_emails_each_invitation_once_even_after_a_crash(smtp, monkeypatch):
    org = OrganizationFactory()
    with tenant_context(org):
        account = AccountFactory()
        for n in range(3):
            ContactFactory(account=account, email=f"p{n}@acme.example", locale="en")
        campaign = CampaignFactory()
        sending.campaign_send_start(campaign)
    real_send = EmailMultiAlternatives.send
    calls = {"n": 0}
    later = []

    def crash_on_the_second(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise ConnectionError("the mail server went away")
        return real_send(self, *args, **kwargs)

    monkeypatch.setattr(EmailMultiAlternatives, "send", crash_on_the_second)
    monkeypatch.setattr(
        send_invitations, "apply_async", lambda a, countdown, retry: later.append(a)
    )
    assert send_invitations(org.pk, campaign.pk) == 1  # then paused, and queued again
    assert later == [(org.pk, campaign.pk)]
    with tenant_context(org):
        assert sorted(i.status for i in SurveyInvitation.objects.all()) == [
            "pending",
            "pending",
            "sent",
        ]
    monkeypatch.setattr(EmailMultiAlternatives, "send", real_send)
    assert send_invitations(org.pk, campaign.pk) == 2  # the rest, resumed
    assert send_invitations(org.pk, campaign.pk) == 0
    recipients = sorted(m["To"] for m in smtp.wait_for(3))
    assert recipients == ["p0@acme.example", "p1@acme.example", "p2@acme.example"]


@pytest.mark.django_db
def test_it_marks_a_refused_address_failed_and_emails_the_others(smtp, monkeypatch):
    import smtplib

    org = OrganizationFactory()
    with tenant_context(org):
        account = AccountFactory()
        ContactFactory(account=account, email="bad@acme.example")
        ContactFactory(account=account, email="good@acme.example")
        campaign = CampaignFactory()
        sending.campaign_send_start(campaign)
    real_send = EmailMultiAlternatives.send

    def refuse_bad(self, *args, **kwargs):
        if self.to == ["bad@acme.example"]:
            raise smtplib.SMTPRecipientsRefused({"bad@acme.example": (550, b"no such user")})
        return real_send(self, *args, **kwargs)

    monkeypatch.setattr(EmailMultiAlternatives, "send", refuse_bad)
    send_invitations(org.pk, campaign.pk)
    with tenant_context(org):
        assert _statuses(campaign) == {
            "bad@acme.example": ("failed", "refused"),
            "good@acme.example": ("sent", ""),
        }
    assert [m["To"] for m in smtp.wait_for(1)] == ["good@acme.example"]


@pytest.mark.django_db
def test_it_marks_an_address_smtp_cannot_carry_failed_and_emails_the_others(smtp):
    org = OrganizationFactory()
    with tenant_context(org):
        account = AccountFactory()
        # Stored without the import's checks (an older import, or a direct write): the
        # SMTP envelope cannot carry a non-ASCII local part.
        ContactFactory(account=account, email="joão@acme.example")
        ContactFactory(account=account, email="good@acme.example")
        campaign = CampaignFactory()
        sending.campaign_send_start(campaign)
    send_invitations(org.pk, campaign.pk)
    with tenant_context(org):
        assert _statuses(campaign) == {
            "joão@acme.example": ("failed", "refused"),
            "good@acme.example": ("sent", ""),
        }
    assert [m["To"] for m in smtp.wait_for(1)] == ["good@acme.example"]


@pytest.mark.django_db
def test_it_refuses_a_new_send_while_the_last_one_is_still_going_out():
    from surveys.sending import StillSending

    org = OrganizationFactory()
    with tenant_context(org):
        ContactFactory()
        campaign = CampaignFactory(name="Q4")
        sending.campaign_send_start(campaign)
        with pytest.raises(StillSending, match="“Q4” is still sending: 1 emails"):
            sending.campaign_send_start(campaign)
        assert SurveyInvitation.objects.count() == 1


@pytest.mark.django_db
def test_it_counts_invitations_waiting_to_go_out_against_the_quiet_period_and_cap():
    org = OrganizationFactory(survey_account_monthly_cap=1)
    with tenant_context(org):
        account = AccountFactory()
        ContactFactory(account=account, email="a@x.example")
        ContactFactory(account=account, email="b@x.example")
        first, second = CampaignFactory(), CampaignFactory()
        assert sending.campaign_send_start(first).pending == 1
        plan = sending.campaign_send_start(second)  # the first's emails not out yet
    assert (plan.pending, plan.skipped) == (0, {"quiet_period": 1, "account_cap": 1})


@pytest.mark.django_db
def test_it_never_emails_a_contact_who_opted_out_after_the_send_began(smtp):
    org = OrganizationFactory()
    with tenant_context(org):
        contact = ContactFactory()
        campaign = CampaignFactory()
        sending.campaign_send_start(campaign)
        contact.opted_out_at = timezone.now()
        contact.save()
    send_invitations(org.pk, campaign.pk)
    with tenant_context(org):
        invitation = SurveyInvitation.objects.get()
    assert (invitation.status, invitation.skip_reason) == ("skipped", "opted_out")
    assert smtp.messages == []


@pytest.mark.django_db
def test_it_sends_no_more_than_the_rate_and_comes_back_for_the_rest(smtp, settings, monkeypatch):
    settings.SURVEY_EMAILS_PER_MINUTE = 2
    later = []
    monkeypatch.setattr(
        send_invitations,
        "apply_async",
        lambda args, countdown, retry: later.append((args, countdown)),
    )
    org = OrganizationFactory()
    with tenant_context(org):
        account = AccountFactory()
        for n in range(3):
            ContactFactory(account=account, email=f"r{n}@acme.example")
        campaign = CampaignFactory()
        sending.campaign_send_start(campaign)
    assert send_invitations(org.pk, campaign.pk) == 2
    assert later == [((org.pk, campaign.pk), 60)]


def _score_link(message, score):
    text = next(p for p in message.walk() if p.get_content_type() == "text/plain")
    body = text.get_payload(decode=True).decode()
    return re.search(rf"^{score}: https?://[^/\s]+(/s/\S+)", body, re.MULTILINE).group(1)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_it_reaches_a_real_smtp_server_whose_link_records_exactly_one_response(
    celery_worker_process, inbox, client
):
    org = OrganizationFactory(name="Acme Analytics")
    with tenant_context(org):
        ContactFactory(email="ana@cliente.example", locale="pt-br")
        campaign = CampaignFactory()
        sending.campaign_send_start(campaign)
    send_invitations.delay(org.pk, campaign.pk)
    [message] = inbox.wait_for(1)
    assert message["To"] == "ana@cliente.example"
    assert "Acme Analytics" in message["Subject"]
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    html = next(p for p in message.walk() if p.get_content_type() == "text/html")
    assert "Qual a probabilidade" in html.get_payload(decode=True).decode()  # her language
    assert "Não receber mais pesquisas" in html.get_payload(decode=True).decode()
    link = _score_link(message, 9)
    assert client.get(link).status_code == 200  # a GET records nothing
    with tenant_context(org):
        assert not Response.objects.exists()
    client.post(link.split("?")[0], {"score": 9, "automatic": "1"})
    client.post(link.split("?")[0], {"score": 9, "automatic": "1"})
    with tenant_context(org):
        assert [r.score for r in Response.objects.all()] == [9]


@pytest.mark.django_db
def test_it_starts_a_send_from_the_command_line_and_reports_the_skipped(capsys):
    from django.core.management import CommandError, call_command

    org = OrganizationFactory(slug="acme")
    with tenant_context(org):
        account = AccountFactory()
        ContactFactory(account=account, email="in@acme.example")
        ContactFactory(account=account, email="out@acme.example", opted_out_at=timezone.now())
        CampaignFactory(name="Q4 NPS")
    call_command("send_survey", "--org", "acme", "--campaign", "Q4 NPS")
    out = capsys.readouterr().out
    assert "Send 1 of 'Q4 NPS': 1 to email, queued" in out
    assert "skipped 1: The contact opted out of survey email." in out
    with pytest.raises(CommandError, match=r"has no campaign named 'Q5'.*'Q4 NPS'"):
        call_command("send_survey", "--org", "acme", "--campaign", "Q5")


@pytest.mark.django_db
def test_it_asks_only_the_accounts_of_the_campaigns_owner():
    from tests.factories import MembershipFactory

    org = OrganizationFactory()
    ana, bruno = (MembershipFactory(organization=org).user for _ in range(2))
    with tenant_context(org):
        ContactFactory(account=AccountFactory(owner=ana), email="of-ana@x.example")
        ContactFactory(account=AccountFactory(owner=bruno), email="of-bruno@x.example")
        campaign = CampaignFactory(audience=SegmentFactory(filters={"owner": str(ana.pk)}))
        sending.campaign_send_start(campaign)
        assert list(_statuses(campaign)) == ["of-ana@x.example"]


@pytest.mark.django_db
def test_it_offers_only_the_organizations_segments_as_audiences():
    from surveys.forms import CampaignForm

    org, other = OrganizationFactory(), OrganizationFactory()
    with tenant_context(other):
        theirs = SegmentFactory(name="Theirs")
    with tenant_context(org):
        ours = SegmentFactory(name="Ours")
        audiences = list(CampaignForm().fields["audience"].queryset)
    assert audiences == [ours]
    assert theirs not in audiences


@pytest.mark.django_db
def test_it_marks_the_survey_emails_html_with_the_contacts_language():
    # The template reads LANGUAGE_CODE, which the email's context once lacked: a
    # Portuguese email said <html lang="en">.
    org = OrganizationFactory()
    with tenant_context(org):
        invitation = SurveyInvitationFactory(contact=ContactFactory(locale="pt-br"))
        message = sending.invitation_email(invitation)
    [(html, _mimetype)] = message.alternatives
    assert '<html lang="pt-br">' in html
    assert "Qual a probabilidade" in html
