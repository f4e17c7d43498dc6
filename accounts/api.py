"""REST API for accounts, contacts and subscriptions. Writes are idempotent upserts."""

from typing import Any, ClassVar

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import customers, privacy
from accounts.models import (
    LOCALE_CHOICES,
    Account,
    ApiKey,
    BillingInterval,
    Contact,
    ErasureChannel,
    Subscription,
)
from csplatform import bounds
from csplatform.api import rows_rejected_response
from csplatform.api_routes import router
from csplatform.batches import RowsRejected, WriteResult

MAX_AMOUNT_CENTS = 10**15  # ten trillion in currency units: far above any contract
DAY_RANGE = (
    f"From {bounds.EARLIEST_DAY.isoformat()} to {bounds.DAYS_AHEAD} days after today "
    "(docs/import.md, Bounds)."
)


def day_field(help_text: str, **kwargs: Any) -> serializers.DateField:
    """A date an organization sends, documented with the accepted range. The services
    check the range (csplatform.bounds), because only they know a row as recorded: a
    subscription or signup stored before the bounds is sent back as it is by a sync."""
    return serializers.DateField(help_text=f"{help_text} {DAY_RANGE}", **kwargs)


class AccountSerializer(serializers.ModelSerializer):
    owner_email = serializers.EmailField(
        required=False, allow_null=True, allow_blank=True, source="owner.email"
    )
    signup_date = day_field("The day the customer signed up.", required=False, allow_null=True)
    custom_attributes = serializers.DictField(
        required=False,
        validators=[bounds.validate_attributes],
        help_text=(
            "Merged into the account's. At most "
            f"{bounds.MAX_ATTRIBUTES_DEPTH} levels deep and {bounds.MAX_ATTRIBUTES_BYTES} "
            "bytes as JSON, once merged."
        ),
    )

    class Meta:
        model = Account
        fields = [
            "external_id",
            "name",
            "segment",
            "owner_email",
            "signup_date",
            "lifecycle_stage",
            "custom_attributes",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]
        extra_kwargs: ClassVar[dict[str, Any]] = {
            "external_id": {"validators": []}
        }  # the upsert key, not a conflict

    def to_representation(self, instance: Account) -> dict[str, Any]:
        data = super().to_representation(instance)
        data.setdefault("owner_email", None)
        return data


def _as_row(validated: dict[str, Any]) -> dict[str, Any]:
    row = dict(validated)
    if "owner" in row:
        row["owner_email"] = (row.pop("owner") or {}).get("email") or ""
    return row


class UpsertMixin:
    """POST creates (201) or, for a key that exists, updates (200): a retry never duplicates."""

    write_rows: Any  # the service: rows -> WriteResult

    def perform_write(self, row: dict[str, Any]) -> WriteResult:
        return type(self).write_rows([row])

    def lookup_queryset(self) -> QuerySet[Any]:
        """Where the written object is read back from: no list filters (?account=…) apply."""
        return self.get_queryset()  # type: ignore[attr-defined]

    def upsert(self, request: Request, row: dict[str, Any], lookup: dict[str, Any]) -> Response:
        try:
            result = self.perform_write(row)
        except RowsRejected as rejected:
            return rows_rejected_response(rejected, single=True)
        instance = self.lookup_queryset().get(**lookup)
        serializer = self.get_serializer(instance)  # type: ignore[attr-defined]
        return Response(
            serializer.data,
            status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
        )


class AccountViewSet(
    UpsertMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Customer accounts, identified by your `external_id`."""

    serializer_class = AccountSerializer
    lookup_field = "external_id"
    write_rows = staticmethod(customers.accounts_upsert)

    def get_queryset(self) -> QuerySet[Account]:
        return Account.objects.select_related("owner").order_by("id")

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        row = _as_row(serializer.validated_data)
        return self.upsert(request, row, {"external_id": row["external_id"]})

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        account = self.get_object()
        serializer = self.get_serializer(account, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        row = {**_as_row(serializer.validated_data), "external_id": account.external_id}
        return self.upsert(request, row, {"pk": account.pk})


class ContactSerializer(serializers.ModelSerializer):
    account_external_id = serializers.CharField(source="account.external_id")
    locale = serializers.ChoiceField(choices=LOCALE_CHOICES, required=False, allow_blank=True)

    class Meta:
        model = Contact
        fields = ["id", "account_external_id", "email", "name", "locale", "role", "opted_out_at"]
        read_only_fields = ["id", "opted_out_at"]


class ContactUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=255, required=False, allow_blank=True)
    locale = serializers.ChoiceField(choices=LOCALE_CHOICES, required=False, allow_blank=True)
    role = serializers.CharField(max_length=100, required=False, allow_blank=True)


def _contact_row(validated: dict[str, Any]) -> dict[str, Any]:
    row = dict(validated)
    row["account_external_id"] = row.pop("account")["external_id"]
    return row


class AccountRecordViewSet(
    UpsertMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Records that belong to an account: listed by id, filtered by `?account=<external_id>`."""

    base_queryset: Any  # a callable: () -> the model's queryset, with its select_related

    def lookup_queryset(self) -> QuerySet[Any]:
        return type(self).base_queryset()

    def get_queryset(self) -> QuerySet[Any]:
        records = type(self).base_queryset().order_by("id")
        if account := self.request.query_params.get("account"):
            records = records.filter(account__external_id=account)
        return records

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "account", str, description="Only those of the account with this external id."
            )
        ]
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)


class ContactErasureSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="The erased contact's id.")
    erased_at = serializers.DateTimeField()
    already_erased = serializers.BooleanField(
        help_text="True when an earlier request had erased it: nothing more was done."
    )
    removed = serializers.DictField(
        child=serializers.IntegerField(), help_text="What was removed or anonymized, by kind."
    )


class ContactViewSet(AccountRecordViewSet):
    """People at customer accounts. POST upserts by (account_external_id, email)."""

    serializer_class = ContactSerializer
    lookup_value_converter = "int"
    write_rows = staticmethod(customers.contacts_upsert)
    base_queryset = staticmethod(lambda: Contact.objects.select_related("account"))

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        row = _contact_row(serializer.validated_data)
        return self.upsert(
            request,
            row,
            {"account__external_id": row["account_external_id"], "email": row["email"].lower()},
        )

    @extend_schema(request=ContactUpdateSerializer, responses=ContactSerializer)
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Change a contact's name, language or role (its account and email identify it)."""
        contact = self.get_object()
        serializer = ContactUpdateSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        row = {
            "account_external_id": contact.account.external_id,
            "email": contact.email,
            **serializer.validated_data,
        }
        return self.upsert(request, row, {"pk": contact.pk})

    @extend_schema(request=None, responses=ContactErasureSerializer)
    @action(detail=True, methods=["post"])
    def erase(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Erase the person (LGPD / GDPR right to erasure): every contact with this one's
        email, and every text naming them; their scores stay, anonymous (docs/privacy.md).
        Idempotent: erasing an erased contact again answers 200 with `already_erased`."""
        contact_id = int(kwargs[self.lookup_url_kwarg or self.lookup_field])
        erasure = privacy.contact_erasure_get(contact_id)
        if erasure is not None:
            body = {"erased_at": erasure.erased_at, "already_erased": True}
            removed = erasure.removed
        else:
            contact = Contact.objects.filter(pk=contact_id).first()
            if contact is None:
                raise NotFound({"id": ["No contact has this id."]})
            api_key = request.auth if isinstance(request.auth, ApiKey) else None
            result = privacy.contact_erase(
                contact, actor=None, channel=ErasureChannel.API, requested_by=api_key
            )
            body = {"erased_at": result.erasures[0].erased_at, "already_erased": False}
            removed = result.removed
        data = ContactErasureSerializer({"id": contact_id, **body, "removed": removed}).data
        return Response(data, status=status.HTTP_200_OK)


class SubscriptionSerializer(serializers.ModelSerializer):
    account_external_id = serializers.CharField(source="account.external_id")
    amount = serializers.IntegerField(
        source="amount_cents",
        min_value=0,
        max_value=MAX_AMOUNT_CENTS,
        help_text="Per billing interval, in cents.",
    )
    billing_interval = serializers.ChoiceField(choices=BillingInterval.choices)
    started_on = day_field("The first day served.")
    ended_on = day_field(
        "The first day no longer served (exclusive); none while it runs.",
        required=False,
        allow_null=True,
    )
    currency = serializers.CharField(
        max_length=3,
        help_text=(
            "ISO 4217 code of the currency the subscription is billed in: the "
            "organization's reporting currency, or any other for which an exchange rate on "
            "or before `started_on` was imported (else 400, naming the currency and the "
            "day). See docs/metrics.md#currencies."
        ),
    )
    mrr = serializers.IntegerField(
        source="mrr_cents", read_only=True, help_text="In cents of `currency` (billed)."
    )
    reported_mrr = serializers.IntegerField(
        source="reported_mrr_cents",
        read_only=True,
        allow_null=True,
        help_text=(
            "In cents of the organization's reporting currency, converted at `fx_rate`; "
            "null while no exchange rate is known (left out of every metric)."
        ),
    )
    fx_rate = serializers.DecimalField(
        max_digits=24,
        decimal_places=12,
        read_only=True,
        allow_null=True,
        help_text=(
            "1 unit of `currency` in the reporting currency: the rate of the latest day on "
            "or before `started_on` (exactly 1 in the reporting currency)."
        ),
    )

    class Meta:
        model = Subscription
        fields = [
            "external_id",
            "account_external_id",
            "plan",
            "amount",
            "currency",
            "billing_interval",
            "started_on",
            "ended_on",
            "mrr",
            "reported_mrr",
            "fx_rate",
            "created_at",
        ]
        read_only_fields = ["created_at"]
        extra_kwargs: ClassVar[dict[str, Any]] = {"external_id": {"validators": []}}

    def validate_currency(self, value: str) -> str:
        return value.upper()


class SubscriptionEndSerializer(serializers.Serializer):
    ended_on = day_field("The first day no longer served.")


class SubscriptionViewSet(AccountRecordViewSet):
    """Subscription history. A price or plan change ends one subscription and starts another.

    `currency` is the one billed in: the organization's reporting currency, or any ISO
    4217 currency with an exchange rate on or before `started_on` (import rates first:
    the import page or `manage.py import_fx_rates`; else 400 naming the currency and the
    day). `mrr` is billed; `reported_mrr` is converted at `fx_rate`, the rate of the
    start day, and is what every metric counts (docs/metrics.md#currencies)."""

    serializer_class = SubscriptionSerializer
    lookup_field = "external_id"
    write_rows = staticmethod(customers.subscriptions_upsert)
    base_queryset = staticmethod(lambda: Subscription.objects.select_related("account"))

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        row = _contact_row(serializer.validated_data)
        row.setdefault("ended_on", None)
        return self.upsert(request, row, {"external_id": row["external_id"]})

    @extend_schema(request=SubscriptionEndSerializer, responses=SubscriptionSerializer)
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """End a subscription: only `ended_on` can change once it exists."""
        subscription = self.get_object()
        serializer = SubscriptionEndSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        row = {
            "external_id": subscription.external_id,
            "account_external_id": subscription.account.external_id,
            **{f: getattr(subscription, f) for f in customers.IMMUTABLE_SUBSCRIPTION_FIELDS},
            "ended_on": serializer.validated_data["ended_on"],
        }
        return self.upsert(request, row, {"pk": subscription.pk})


router.register("accounts", AccountViewSet, basename="account")
router.register("contacts", ContactViewSet, basename="contact")
router.register("subscriptions", SubscriptionViewSet, basename="subscription")
