"""Scheduled and recurring sends, and reminders to those who have not answered."""

from datetime import timedelta

import pytest
from django.utils import timezone

from csplatform.tenancy import tenant_context
from surveys import sending
from surveys.models import SurveyInvitation
from surveys.tasks import send_due_campaigns, send_invitations
from tests.factories import (
    AccountFactory,
    CampaignFactory,
    ContactFactory,
    OrganizationFactory,
    ResponseFactory,
    SurveyInvitationFactory,
)

pytestmark = pytest.mark.django_db


def test_it_sends_a_scheduled_campaign_once_its_time_has_come_and_then_every_period():
    org = OrganizationFactory(survey_quiet_days=1)
    now = timezone.now()
    with tenant_context(org):
        ContactFactory()
        campaign = CampaignFactory(starts_at=now + timedelta(hours=1), repeat_every_days=90)
        assert not sending.campaign_due(campaign, now)  # not yet
        assert sending.campaign_due(campaign, now + timedelta(hours=2))
        [(started, plan)] = sending.campaigns_start_due(now + timedelta(hours=2))
        assert (started, plan.send_number, plan.pending) == (campaign, 1, 1)
        assert sending.campaigns_start_due(now + timedelta(days=30)) == []  # sent this period
        SurveyInvitation.objects.update(  # emailed
            created_at=now + timedelta(hours=2), status="sent", sent_at=now + timedelta(hours=2)
        )
        later = now + timedelta(days=91)
        assert sending.campaign_due(campaign, later)
        assert [p.send_number for _c, p in sending.campaigns_start_due(later)] == [2]


def test_it_never_sends_a_campaign_without_a_start_by_itself():
    org = OrganizationFactory()
    with tenant_context(org):
        ContactFactory()
        CampaignFactory(starts_at=None)
        assert sending.campaigns_start_due() == []


def test_it_starts_due_campaigns_in_the_periodic_task(django_capture_on_commit_callbacks):
    org = OrganizationFactory()
    with tenant_context(org):
        ContactFactory()
        campaign = CampaignFactory(starts_at=timezone.now() - timedelta(minutes=1))
    with django_capture_on_commit_callbacks() as queued:
        assert send_due_campaigns(org.pk) == 1
    assert len(queued) == 1  # the emails, queued once the send is committed
    with tenant_context(org):
        assert SurveyInvitation.objects.filter(campaign=campaign, status="pending").count() == 1


def test_it_reminds_once_those_who_have_not_answered(smtp):
    org = OrganizationFactory()
    now = timezone.now()
    with tenant_context(org):
        account = AccountFactory()
        campaign = CampaignFactory(remind_after_days=3)
        waiting = SurveyInvitationFactory(
            campaign=campaign,
            contact=ContactFactory(account=account, email="waiting@acme.example", locale="en"),
            sent_at=now - timedelta(days=4),
        )
        answered = SurveyInvitationFactory(
            campaign=campaign,
            contact=ContactFactory(account=account, email="answered@acme.example"),
            sent_at=now - timedelta(days=4),
        )
        ResponseFactory(invitation=answered, account=account)
        SurveyInvitationFactory(  # opted out since
            campaign=campaign,
            contact=ContactFactory(account=account, opted_out_at=now),
            sent_at=now - timedelta(days=4),
        )
        SurveyInvitationFactory(campaign=campaign, sent_at=now - timedelta(days=1))  # too soon
        assert sending.campaigns_with_reminders_due() == [campaign.pk]
    assert send_invitations(org.pk, campaign.pk) == 1
    assert send_invitations(org.pk, campaign.pk) == 0
    [message] = smtp.wait_for(1)
    assert message["To"] == "waiting@acme.example"
    assert message["Subject"].startswith("Reminder:")
    with tenant_context(org):
        waiting.refresh_from_db()
        assert waiting.reminded_at is not None
        assert sending.campaigns_with_reminders_due() == []
