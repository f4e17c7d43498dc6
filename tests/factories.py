"""factory_boy factories. Tenant-owned factories must run inside tenant_context.

`TENANT_FACTORIES` maps every tenant-owned model to its factory; the isolation
tests fail for a tenant-owned model that has none, so new models get covered.
"""

import uuid
from datetime import date, timedelta
from fractions import Fraction

import factory
import numpy as np
import pandas as pd
from django.utils import timezone

from accounts.models import (
    Account,
    ApiKey,
    AuditEvent,
    Contact,
    ContactErasure,
    ExchangeRate,
    ImportUpload,
    MemberInvitation,
    Membership,
    Note,
    Organization,
    Role,
    Segment,
    Subscription,
    User,
)
from billing.models import StripeConnection, StripeEvent
from csplatform.clock import organization_today
from csplatform.crypto import secret_encrypt
from csplatform.models import OutboxMessage
from csplatform.tenancy import current_organization_id
from dashboards.models import Benchmark, ExecutiveDigest
from journeys.models import (
    CoreFeature,
    DailyContactUsage,
    DailyFeatureUsage,
    DailyUsage,
    LifecycleStage,
    PendingUsageRollup,
    Playbook,
    StageTransition,
    Todo,
    Touchpoint,
    TouchpointType,
    UsageEvent,
    ValueMilestone,
)
from metrics.models import (
    AccountHealth,
    AdoptionMetrics,
    CohortMetrics,
    HealthBackfill,
    HealthModel,
    MetricsState,
    MonthlyMetrics,
    MonthTerms,
    SatisfactionMetrics,
    TimeToValueCohort,
)
from surveys.models import AnswerAttempt, Campaign, Response, ResponseEdit, Survey, SurveyInvitation

PASSWORD = "correct-horse-battery-staple"


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    slug = factory.Sequence(lambda n: f"org-{n}")
    name = factory.Sequence(lambda n: f"Organization {n}")
    currency = "BRL"
    time_zone = "America/Sao_Paulo"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.com")
    full_name = factory.Faker("name")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):  # noqa: N805
        if create:
            obj.save()


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    organization = factory.SubFactory(OrganizationFactory)
    role = Role.MANAGER


class MemberInvitationFactory(factory.django.DjangoModelFactory):
    """Call inside tenant_context(org): the organization comes from the context."""

    class Meta:
        model = MemberInvitation

    email = factory.Sequence(lambda n: f"invitee{n}@example.com")
    role = Role.MANAGER
    expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=7))


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Account

    external_id = factory.Sequence(lambda n: f"acct-{n}")
    name = factory.Sequence(lambda n: f"Customer {n} Ltda.")
    segment = "SMB"
    signup_date = date(2025, 1, 15)


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    account = factory.SubFactory(AccountFactory)
    email = factory.Sequence(lambda n: f"contact{n}@customer.example")
    name = factory.Faker("name")
    locale = "pt-br"


class SubscriptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Subscription

    external_id = factory.Sequence(lambda n: f"sub-{n}")
    account = factory.SubFactory(AccountFactory)
    plan = "Pro"
    amount_cents = 50_000
    currency = "BRL"
    billing_interval = "month"
    started_on = date(2025, 2, 1)


class ExchangeRateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ExchangeRate

    day = factory.Sequence(lambda n: date(2025, 1, 1) + timedelta(days=n))
    currency = "USD"
    rate = "5.250000000000"


class SegmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Segment

    name = factory.Sequence(lambda n: f"Segment {n}")
    filters: dict = {}


class NoteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Note

    account = factory.SubFactory(AccountFactory)
    body = "Called about the renewal."


class UsageEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = UsageEvent

    account = factory.SubFactory(AccountFactory)
    name = "report.generated"
    occurred_at = factory.LazyFunction(lambda: timezone.now() - timedelta(hours=1))
    dedupe_key = factory.LazyFunction(uuid.uuid4)


class PendingUsageRollupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PendingUsageRollup

    event_ids = factory.LazyFunction(lambda: [UsageEventFactory().pk])


class DailyUsageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DailyUsage

    account = factory.SubFactory(AccountFactory)
    day = date(2026, 1, 5)
    events = 3


class DailyFeatureUsageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DailyFeatureUsage

    account = factory.SubFactory(AccountFactory)
    feature = "report.generated"
    day = date(2026, 1, 5)
    events = 3


class DailyContactUsageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DailyContactUsage

    account = factory.SelfAttribute("contact.account")
    contact = factory.SubFactory(ContactFactory)
    day = date(2026, 1, 5)
    events = 3


class TouchpointTypeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TouchpointType
        django_get_or_create = ("name",)

    name = "Onboarding call"
    channel = "call"


class TouchpointFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Touchpoint

    account = factory.SubFactory(AccountFactory)
    type = factory.SubFactory(TouchpointTypeFactory)
    occurred_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=1))
    dedupe_key = factory.LazyFunction(uuid.uuid4)


class ApiKeyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ApiKey

    name = "CRM sync"
    prefix = "csp_1_abc"
    hashed_key = factory.Sequence(lambda n: f"{n:064x}")


class ImportUploadFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ImportUpload

    kind = "accounts"
    filename = "accounts.csv"
    content = b"external_id;name\na1;Acme\n"
    status = "checked"
    check_outcome = factory.LazyFunction(
        lambda: {
            "rows": 1,
            "result": {"created": 1, "updated": 0, "unchanged": 0},
            "warnings": [],
            "columns": ["external_id", "name"],
            "preview": [["a1", "Acme"]],
        }
    )


class MonthlyMetricsFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MonthlyMetrics

    month = date(2026, 1, 1)
    mrr = arr = new = expansion = contraction = churn = reactivation = 0
    customers = new_customers = churned_customers = reactivated_customers = 0
    expansion_customers = contraction_customers = 0
    renewals_due = renewals_renewed = renewals_due_mrr = renewals_renewed_mrr = 0
    computed_at = factory.LazyFunction(timezone.now)


class CohortMetricsFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CohortMetrics

    interval = "month"
    start = date(2026, 1, 1)
    label = "2026-01"
    size = 2
    starting_mrr = 2_000
    survivors = [2]
    logo_retention = [1.0]
    revenue_retention = [1.0]
    computed_at = factory.LazyFunction(timezone.now)


class MetricsStateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MetricsState


class MonthTermsFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MonthTerms

    month = date(2026, 1, 1)
    account_ids = mrr = previous_mrr = base_mrr = was_customer = factory.LazyFunction(list)
    renewal_account_ids = renewal_on = renewal_mrr = renewal_renewed = factory.LazyFunction(list)


class SatisfactionMetricsFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SatisfactionMetrics

    month = date(2026, 1, 1)
    kind = "nps"
    dimension = "all"
    n = 1
    value = 100.0


class SurveyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Survey

    name = factory.Sequence(lambda n: f"NPS {n}")
    kind = "nps"
    question_en = "How likely are you to recommend us to a friend or colleague?"
    question_pt_br = "Qual a probabilidade de você nos recomendar a um amigo ou colega?"
    follow_up_en = "What is the main reason for your score?"
    follow_up_pt_br = "Qual o principal motivo da sua nota?"
    touchpoint = "company"


class CampaignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Campaign

    survey = factory.SubFactory(SurveyFactory)
    name = factory.Sequence(lambda n: f"Campaign {n}")


class SurveyInvitationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SurveyInvitation

    campaign = factory.SubFactory(CampaignFactory)
    contact = factory.SubFactory(ContactFactory)
    status = "sent"
    sent_at = factory.LazyFunction(timezone.now)


class ResponseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Response

    invitation = factory.SubFactory(SurveyInvitationFactory)
    account = factory.LazyAttribute(lambda r: r.invitation.contact.account)
    contact = factory.LazyAttribute(lambda r: r.invitation.contact)
    kind = "nps"
    score = 9
    responded_at = factory.LazyFunction(timezone.now)


class ResponseEditFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ResponseEdit

    response = factory.SubFactory(ResponseFactory)
    score = 7


class AnswerAttemptFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AnswerAttempt

    invitation = factory.SubFactory(SurveyInvitationFactory)
    score = 9


class LifecycleStageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LifecycleStage

    key = factory.Sequence(lambda n: f"stage-{n}")
    name_en = factory.Sequence(lambda n: f"Stage {n}")
    name_pt_br = factory.Sequence(lambda n: f"Etapa {n}")
    position = factory.Sequence(lambda n: n)


class StageTransitionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StageTransition

    account = factory.SubFactory(AccountFactory)
    from_stage = "onboarding"
    to_stage = "adoption"
    changed_at = factory.LazyFunction(timezone.now)


class ValueMilestoneFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ValueMilestone

    event_name = factory.Sequence(lambda n: f"milestone.{n}")
    name = factory.Sequence(lambda n: f"Milestone {n}")


class CoreFeatureFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CoreFeature

    feature = factory.Sequence(lambda n: f"feature.{n}")


class PlaybookFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Playbook

    name = factory.Sequence(lambda n: f"Playbook {n}")
    trigger = "detractor"
    task_title = "Call the account"


class TodoFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Todo

    title = "Call the account"
    account = factory.SubFactory(AccountFactory)
    due_on = factory.LazyFunction(lambda: organization_today() + timedelta(days=3))


class HealthModelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = HealthModel
        django_get_or_create = ("organization",)

    organization = factory.LazyFunction(lambda: _current_organization())


def _current_organization():
    from csplatform.tenancy import current_organization

    return current_organization()


class AccountHealthFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AccountHealth

    account = factory.SubFactory(AccountFactory)
    day = factory.LazyFunction(organization_today)  # the current organization's
    score = 72.5
    band = "healthy"
    engagement = 72.5
    contributions = factory.LazyFunction(lambda: {"engagement": 72.5})


class AdoptionMetricsFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AdoptionMetrics

    day = factory.LazyFunction(organization_today)  # the current organization's
    customers = 10
    adopted = 5
    adoption_rate = 0.5


class TimeToValueCohortFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TimeToValueCohort

    month = date(2026, 1, 1)
    customers = 10
    reached = 6
    median_days = 12.0
    waiting_share = 0.4


class HealthBackfillFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = HealthBackfill

    reason = "data_loaded"
    through = factory.LazyFunction(organization_today)  # the current organization's
    days_total = 146
    requested_at = factory.LazyFunction(timezone.now)


class AuditEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AuditEvent

    action = AuditEvent.Action.API_KEY_CREATED
    actor_email = "admin@example.com"
    target = "CRM sync"
    details = factory.LazyFunction(lambda: {"name": "CRM sync", "prefix": "csp_1_abc"})


class StripeConnectionFactory(factory.django.DjangoModelFactory):
    """A connection as the Connections page leaves it (the key is not checked here)."""

    class Meta:
        model = StripeConnection

    restricted_key = factory.LazyFunction(lambda: secret_encrypt("rk_test_factorykey0000abcd"))
    key_hint = "rk_test_…abcd"
    webhook_token = factory.LazyFunction(
        lambda: f"{current_organization_id()}-{uuid.uuid4().hex}{uuid.uuid4().hex[:11]}"
    )
    stripe_account_id = "acct_factory"


class StripeEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StripeEvent

    event_id = factory.Sequence(lambda n: f"evt_factory{n:06d}")
    type = "customer.updated"
    created = factory.LazyFunction(timezone.now)
    customer_id = "cus_factory"
    source = StripeEvent.Source.WEBHOOK


TENANT_FACTORIES = {
    StripeConnection: StripeConnectionFactory,
    StripeEvent: StripeEventFactory,
    ExchangeRate: ExchangeRateFactory,
    Segment: SegmentFactory,
    LifecycleStage: LifecycleStageFactory,
    StageTransition: StageTransitionFactory,
    ValueMilestone: ValueMilestoneFactory,
    CoreFeature: CoreFeatureFactory,
    Playbook: PlaybookFactory,
    Todo: TodoFactory,
    HealthModel: HealthModelFactory,
    AccountHealth: AccountHealthFactory,
    AdoptionMetrics: AdoptionMetricsFactory,
    TimeToValueCohort: TimeToValueCohortFactory,
    HealthBackfill: HealthBackfillFactory,
    SatisfactionMetrics: SatisfactionMetricsFactory,
    Survey: SurveyFactory,
    Campaign: CampaignFactory,
    SurveyInvitation: SurveyInvitationFactory,
    Response: ResponseFactory,
    ResponseEdit: ResponseEditFactory,
    AnswerAttempt: AnswerAttemptFactory,
    MonthlyMetrics: MonthlyMetricsFactory,
    MonthTerms: MonthTermsFactory,
    CohortMetrics: CohortMetricsFactory,
    MetricsState: MetricsStateFactory,
    ImportUpload: ImportUploadFactory,
    ApiKey: ApiKeyFactory,
    AuditEvent: AuditEventFactory,
    MemberInvitation: MemberInvitationFactory,
    Account: AccountFactory,
    Contact: ContactFactory,
    Subscription: SubscriptionFactory,
    Note: NoteFactory,
    UsageEvent: UsageEventFactory,
    PendingUsageRollup: PendingUsageRollupFactory,
    DailyUsage: DailyUsageFactory,
    DailyFeatureUsage: DailyFeatureUsageFactory,
    DailyContactUsage: DailyContactUsageFactory,
    TouchpointType: TouchpointTypeFactory,
    Touchpoint: TouchpointFactory,
}


MONTHS = {"month": 1, "quarter": 3, "year": 12}


def monthly_cents(amount_cents, interval):
    """METRICS.md's MRR of a subscription, written out for tests: the amount ÷ the
    interval's months, rounded to the cent half to even (exact, with Fraction). The
    code reads Subscription.mrr_cents; tests/test_subscription_rules.py checks it
    against this."""
    return round(Fraction(amount_cents, MONTHS[interval]))


def subscriptions_frame_of(rows):
    """A subscriptions frame as metrics.services.subscriptions_frame reads it, from
    (account_id, amount in cents per interval, interval, started_on, ended_on or None)."""
    return pd.DataFrame(
        {
            "account_id": np.array([r[0] for r in rows], dtype=np.int64),
            "mrr_cents": np.array([monthly_cents(r[1], r[2]) for r in rows], dtype=np.int64),
            "interval_months": np.array([MONTHS[r[2]] for r in rows], dtype=np.int64),
            "started_on": np.array([r[3] for r in rows], dtype="datetime64[D]"),
            "ended_on": np.array(
                [r[4] if r[4] else np.datetime64("NaT", "D") for r in rows], dtype="datetime64[D]"
            ),
        }
    )


def subscription_row(external_id, account, amount, started_on, ended_on=None, interval="month"):
    """A subscription as subscriptions_upsert takes it (a BRL organization's)."""
    return {
        "external_id": external_id,
        "account_external_id": account,
        "plan": "Pro",
        "amount_cents": amount,
        "currency": "BRL",
        "billing_interval": interval,
        "started_on": started_on,
        "ended_on": ended_on,
    }


class BenchmarkFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Benchmark

    metric = "grr"
    label = "GRR median"
    low = 0.90
    high = 0.93
    source = "SaaS Capital survey"
    year = 2023


class ExecutiveDigestFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ExecutiveDigest

    month = date(2026, 1, 1)
    sent_at = factory.LazyFunction(timezone.now)
    recipients = 1


TENANT_FACTORIES.update({Benchmark: BenchmarkFactory, ExecutiveDigest: ExecutiveDigestFactory})


class OutboxMessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OutboxMessage

    task = "metrics.tasks.recompute_health"
    debounced = True
    run_after = factory.LazyFunction(timezone.now)


TENANT_FACTORIES[OutboxMessage] = OutboxMessageFactory


class ContactErasureFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ContactErasure

    former_contact_id = factory.Sequence(lambda n: 10_000 + n)
    channel = "command"
    removed = factory.LazyFunction(lambda: {"contacts": 1})


TENANT_FACTORIES.update({ContactErasure: ContactErasureFactory})
