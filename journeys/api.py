"""REST API for touchpoints and batches of usage events."""

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.urls import path
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import ParseError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api import AccountRecordViewSet
from csplatform import bounds
from csplatform.api_routes import extra_routes, router
from csplatform.batches import RowError, RowsRejected
from journeys import ingest
from journeys.models import Sentiment, Touchpoint


class TouchpointSerializer(serializers.ModelSerializer):
    account_external_id = serializers.CharField(source="account.external_id")
    touchpoint = serializers.CharField(source="type.name", max_length=200)
    contact_email = serializers.EmailField(
        source="contact.email", required=False, allow_blank=True, allow_null=True
    )
    sentiment = serializers.ChoiceField(choices=Sentiment.choices, required=False)
    external_id = serializers.CharField(required=False, allow_blank=True, max_length=255)
    notes = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=bounds.MAX_NOTE_CHARS,
        help_text=f"At most {bounds.MAX_NOTE_CHARS} characters.",
    )
    occurred_at = serializers.DateTimeField(
        help_text="When it happened: from 2000-01-01 (UTC) to now; ISO 8601 with a time zone."
    )

    class Meta:
        model = Touchpoint
        fields = [
            "id",
            "external_id",
            "account_external_id",
            "touchpoint",
            "contact_email",
            "occurred_at",
            "sentiment",
            "notes",
            "created_at",
        ]
        read_only_fields = ["id", "created_at"]

    def to_representation(self, instance: Touchpoint) -> dict[str, Any]:
        data = super().to_representation(instance)
        data.setdefault("contact_email", None)
        return data


class TouchpointUpdateSerializer(serializers.Serializer):
    sentiment = serializers.ChoiceField(choices=Sentiment.choices, required=False)
    notes = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=bounds.MAX_NOTE_CHARS,
        help_text=f"At most {bounds.MAX_NOTE_CHARS} characters.",
    )


class TouchpointViewSet(AccountRecordViewSet):
    """Interactions with accounts. POST is idempotent by `external_id` (or by content)."""

    serializer_class = TouchpointSerializer
    lookup_value_converter = "int"
    base_queryset = staticmethod(
        lambda: Touchpoint.objects.select_related("account", "type", "contact")
    )

    def perform_write(self, row: dict[str, Any]) -> Any:
        return ingest.touchpoints_record([row])

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        row = {
            **data,
            "account_external_id": data.pop("account")["external_id"],
            "touchpoint": data.pop("type")["name"],
            "contact_email": (data.pop("contact", None) or {}).get("email"),
        }
        key = ingest.touchpoint_key(row)
        return self.upsert(request, row, {"dedupe_key": key})

    @extend_schema(request=TouchpointUpdateSerializer, responses=TouchpointSerializer)
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Correct a touchpoint's sentiment or notes; what happened, when, stays as recorded."""
        touchpoint = self.get_object()
        serializer = TouchpointUpdateSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        ingest.touchpoint_update(touchpoint=touchpoint, **serializer.validated_data)
        return Response(self.get_serializer(touchpoint).data)


class EventSerializer(serializers.Serializer):
    """One usage event (documentation; batches are validated by a faster path)."""

    account_external_id = serializers.CharField()
    event = serializers.CharField(max_length=200)
    occurred_at = serializers.DateTimeField(
        help_text="ISO 8601 with a time zone; from 2000-01-01 (UTC) to now."
    )
    id = serializers.CharField(
        required=False, help_text="Your event id: a retried event with the same id is skipped."
    )
    contact_email = serializers.EmailField(required=False)
    quantity = serializers.DecimalField(
        max_digits=18,
        decimal_places=4,
        required=False,
        min_value=Decimal(0),
        help_text="Not negative (0 counts the event with no amount); at most 4 decimals.",
    )
    properties = serializers.DictField(required=False)


class EventBatchSerializer(serializers.Serializer):
    events = serializers.ListField(child=EventSerializer(), max_length=ingest.MAX_BATCH)


def _parse_event(index: int, item: Any, errors: list[RowError]) -> dict[str, Any] | None:
    """One event from JSON, or None with its problems appended to `errors`."""
    if not isinstance(item, dict):
        errors.append(RowError(index, "event", _("Each event must be a JSON object.")))
        return None
    found = len(errors)
    for field in ("account_external_id", "event", "occurred_at"):
        if not isinstance(item.get(field), str) or not item[field].strip():
            errors.append(RowError(index, field, _("Required: a non-empty string.")))
    if len(errors) > found:
        return None
    row: dict[str, Any] = {
        "account_external_id": item["account_external_id"].strip(),
        "name": item["event"].strip(),
    }
    if len(row["name"]) > 200:
        errors.append(RowError(index, "event", _("Use at most 200 characters.")))
    try:
        occurred_at = datetime.fromisoformat(item["occurred_at"])
    except ValueError:
        occurred_at = None
    if occurred_at is None or occurred_at.tzinfo is None:
        errors.append(
            RowError(
                index,
                "occurred_at",
                _("Use ISO 8601 with a time zone, e.g. 2026-03-10T14:05:00-03:00."),
            )
        )
    row["occurred_at"] = occurred_at
    if (event_id := item.get("id")) is not None:
        if not isinstance(event_id, str | int) or isinstance(event_id, bool):
            errors.append(RowError(index, "id", _("Use a string or a whole number.")))
        row["external_id"] = str(event_id)
    if (email := item.get("contact_email")) is not None:
        if not isinstance(email, str) or "@" not in email:
            errors.append(RowError(index, "contact_email", _("Enter a valid email address.")))
        row["contact_email"] = email
    if (quantity := item.get("quantity")) is not None:
        try:
            if isinstance(quantity, bool):
                raise InvalidOperation
            value = Decimal(str(quantity))
            if not value.is_finite() or abs(value) >= 10**14:
                raise InvalidOperation
            row["quantity"] = value.quantize(Decimal("0.0001"))  # the column's 4 decimals
        except InvalidOperation:
            errors.append(RowError(index, "quantity", _("Use a number.")))
    if (properties := item.get("properties")) is not None:
        if not isinstance(properties, dict):
            errors.append(RowError(index, "properties", _("Use a JSON object.")))
        row["properties"] = properties
    return row if len(errors) == found else None


class EventBatchView(APIView):
    """Record up to 10,000 usage events in one request. All or nothing; retries are skipped."""

    @extend_schema(
        request=EventBatchSerializer,
        responses={
            200: inline_serializer(
                "EventBatchResult",
                {
                    "received": serializers.IntegerField(),
                    "created": serializers.IntegerField(),
                    "duplicates": serializers.IntegerField(),
                },
            )
        },
    )
    def post(self, request: Request) -> Response:
        events = request.data.get("events") if isinstance(request.data, dict) else None
        if not isinstance(events, list):
            raise ParseError(_('Send a JSON object: {"events": [ … ]}.'))
        if len(events) > ingest.MAX_BATCH:
            raise RowsRejected(
                [
                    RowError(
                        ingest.MAX_BATCH,
                        "events",
                        _("Send at most %(max)s events at a time.") % {"max": ingest.MAX_BATCH},
                    )
                ]
            )
        errors: list[RowError] = []
        rows = [_parse_event(index, item, errors) for index, item in enumerate(events)]
        if errors:
            # Check the events that did parse too, so one answer lists every bad event.
            parsed = [(index, row) for index, row in enumerate(rows) if row is not None]
            try:
                ingest.events_validate([row for _index, row in parsed])
            except RowsRejected as rejected:
                errors += [RowError(parsed[e.row][0], e.field, e.message) for e in rejected.errors]
            raise RowsRejected(errors)
        result = ingest.events_ingest([row for row in rows if row is not None])
        return Response(
            {"received": len(events), "created": result.created, "duplicates": result.unchanged},
            status=status.HTTP_200_OK,
        )


extra_routes.append(path("events/batch/", EventBatchView.as_view(), name="event-batch"))
router.register("touchpoints", TouchpointViewSet, basename="touchpoint")
