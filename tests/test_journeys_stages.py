"""Lifecycle stages: the defaults, the rules for editing them, the history of every change
of an account's stage (however it was made), and the time spent in each stage."""

import importlib
import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django.utils import timezone

from accounts import customers
from accounts import services as account_services
from accounts.models import Account, Role
from csplatform.imports import import_file
from csplatform.tenancy import tenant_context
from journeys import selectors, services
from journeys.models import LifecycleStage, StageTransition, TouchpointType
from tests.factories import (
    AccountFactory,
    LifecycleStageFactory,
    MembershipFactory,
    OrganizationFactory,
    StageTransitionFactory,
    TouchpointTypeFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def org():
    return OrganizationFactory(time_zone="America/Sao_Paulo")


@pytest.fixture
def other_org():
    return OrganizationFactory()


def _keys(org):
    with tenant_context(org):
        return [s.key for s in selectors.lifecycle_stage_list()]


def _transitions(org, **lookup):
    with tenant_context(org):
        return list(
            StageTransition.objects.filter(**lookup)
            .order_by("changed_at", "id")
            .values_list("from_stage", "to_stage", "changed_by_id")
        )


# --- the default stages -------------------------------------------------------------------


def test_it_creates_the_default_stages_once(org):
    with tenant_context(org):
        first = services.lifecycle_stages_ensure()
        again = services.lifecycle_stages_ensure()
        assert LifecycleStage.objects.count() == 5
    assert [s.pk for s in again] == [s.pk for s in first]
    assert [(s.key, s.name_en, s.name_pt_br) for s in first] == [
        ("onboarding", "Onboarding", "Implantação"),
        ("adoption", "Adoption", "Adoção"),
        ("retention", "Retention", "Retenção"),
        ("expansion", "Expansion", "Expansão"),
        ("advocacy", "Advocacy", "Defesa da marca"),
    ]


def test_it_gives_each_organization_its_own_default_stages(org, other_org):
    with tenant_context(org):
        services.lifecycle_stages_ensure()
    with tenant_context(other_org):
        services.lifecycle_stages_ensure()
        assert LifecycleStage.objects.count() == 5
    assert _keys(org) == _keys(other_org)
    with tenant_context(org):
        assert LifecycleStage.objects.count() == 5


def test_it_leaves_an_organization_with_its_own_stages_alone(org):
    with tenant_context(org):
        LifecycleStageFactory(key="trial")
        assert [s.key for s in services.lifecycle_stages_ensure()] == ["trial"]


def test_it_inserts_nothing_when_another_request_created_the_defaults_first(org, monkeypatch):
    with tenant_context(org):
        first = services.lifecycle_stages_ensure()
        # The other request committed between our look and our insert: we saw no stages.
        real_list = services.LifecycleStage.objects.order_by
        calls = []

        def order_by(*fields):
            calls.append(fields)
            return LifecycleStage.objects.none() if len(calls) == 1 else real_list(*fields)

        monkeypatch.setattr(services.LifecycleStage.objects, "order_by", order_by)
        second = services.lifecycle_stages_ensure()
        monkeypatch.undo()
        assert LifecycleStage.objects.count() == 5
    assert [s.pk for s in second] == [s.pk for s in first]


# --- editing the stages -------------------------------------------------------------------


def test_it_renames_a_stage_and_keeps_its_key(org):
    with tenant_context(org):
        services.lifecycle_stages_ensure()
        stage = LifecycleStage.objects.get(key="advocacy")
        services.lifecycle_stage_rename(stage=stage, name_en="Advocates", name_pt_br="Fãs")
        stage.refresh_from_db()
    assert (stage.key, stage.name_en, stage.name_pt_br) == ("advocacy", "Advocates", "Fãs")


def test_it_refuses_a_blank_name(org):
    with tenant_context(org):
        services.lifecycle_stages_ensure()
        stage = LifecycleStage.objects.get(key="advocacy")
        with pytest.raises(ValidationError) as excinfo:
            services.lifecycle_stage_rename(stage=stage, name_en="", name_pt_br="Fãs")
    assert "name_en" in excinfo.value.message_dict


def test_it_adds_a_stage_at_the_end(org):
    with tenant_context(org):
        services.lifecycle_stages_ensure()
        services.lifecycle_stage_create(key="renewal", name_en="Renewal", name_pt_br="Renovação")
    assert _keys(org)[-1] == "renewal"


def test_it_refuses_a_key_that_is_taken_or_not_a_slug(org):
    with tenant_context(org):
        services.lifecycle_stages_ensure()
        with pytest.raises(ValidationError) as taken:
            services.lifecycle_stage_create(key="adoption", name_en="A", name_pt_br="A")
        with pytest.raises(ValidationError) as not_a_slug:
            services.lifecycle_stage_create(key="two words", name_en="A", name_pt_br="A")
    assert "adoption" in taken.value.message_dict["key"][0]
    assert "key" in not_a_slug.value.message_dict
    assert len(_keys(org)) == 5


def test_it_lets_another_organization_use_the_same_key(org, other_org):
    with tenant_context(org):
        services.lifecycle_stage_create(key="trial", name_en="Trial", name_pt_br="Teste")
    with tenant_context(other_org):
        services.lifecycle_stage_create(key="trial", name_en="Trial", name_pt_br="Teste")
    assert _keys(org) == _keys(other_org) == ["trial"]


def test_it_moves_a_stage_up_and_down(org):
    with tenant_context(org):
        services.lifecycle_stages_ensure()
        retention = LifecycleStage.objects.get(key="retention")
        assert services.lifecycle_stage_move(stage=retention, direction="up") is True
    assert _keys(org) == ["onboarding", "retention", "adoption", "expansion", "advocacy"]
    with tenant_context(org):
        assert services.lifecycle_stage_move(stage=retention, direction="down") is True
        assert services.lifecycle_stage_move(stage=retention, direction="down") is True
    assert _keys(org) == ["onboarding", "adoption", "expansion", "retention", "advocacy"]
    with tenant_context(org):
        assert list(
            LifecycleStage.objects.order_by("position").values_list("position", flat=True)
        ) == [0, 1, 2, 3, 4]


def test_it_does_not_move_the_first_stage_up_or_the_last_down(org):
    with tenant_context(org):
        services.lifecycle_stages_ensure()
        first = LifecycleStage.objects.get(key="onboarding")
        last = LifecycleStage.objects.get(key="advocacy")
        assert services.lifecycle_stage_move(stage=first, direction="up") is False
        assert services.lifecycle_stage_move(stage=last, direction="down") is False
    assert _keys(org) == ["onboarding", "adoption", "retention", "expansion", "advocacy"]


def test_it_deletes_a_stage_no_account_is_in_and_unplaces_its_touchpoint_types(org):
    with tenant_context(org):
        services.lifecycle_stages_ensure()
        TouchpointTypeFactory(name="Case study", lifecycle_stage="advocacy")
        services.lifecycle_stage_delete(stage=LifecycleStage.objects.get(key="advocacy"))
        assert TouchpointType.objects.get(name="Case study").lifecycle_stage == ""
    assert "advocacy" not in _keys(org)


def test_it_refuses_to_delete_a_stage_with_accounts_and_says_how_many(org):
    with tenant_context(org):
        services.lifecycle_stages_ensure()
        AccountFactory.create_batch(3, lifecycle_stage="adoption")
        with pytest.raises(ValidationError) as excinfo:
            services.lifecycle_stage_delete(stage=LifecycleStage.objects.get(key="adoption"))
    assert "3 accounts are in it" in excinfo.value.messages[0]
    assert "adoption" in _keys(org)


def test_it_keeps_the_last_stage(org):
    with tenant_context(org):
        stage = LifecycleStageFactory(key="only")
        with pytest.raises(ValidationError) as excinfo:
            services.lifecycle_stage_delete(stage=stage)
    assert "last stage" in excinfo.value.messages[0]
    assert _keys(org) == ["only"]


def test_it_places_a_touchpoint_type_only_on_a_stage_of_the_journey(org):
    with tenant_context(org):
        services.lifecycle_stages_ensure()
        call = TouchpointTypeFactory(name="Onboarding call")
        services.touchpoint_type_place(touchpoint_type=call, stage_key="onboarding")
        assert TouchpointType.objects.get(pk=call.pk).lifecycle_stage == "onboarding"
        with pytest.raises(ValidationError):
            services.touchpoint_type_place(touchpoint_type=call, stage_key="nowhere")
        services.touchpoint_type_place(touchpoint_type=call, stage_key="")
        assert TouchpointType.objects.get(pk=call.pk).lifecycle_stage == ""


# --- the history of stage changes ---------------------------------------------------------


def test_it_records_a_change_made_in_the_ui_with_who_when_from_and_to(org):
    manager = MembershipFactory(organization=org, role=Role.MANAGER).user
    with tenant_context(org):
        services.lifecycle_stages_ensure()
        account = AccountFactory(lifecycle_stage="onboarding")
        before = timezone.now()
        assert services.account_stage_change(account=account, stage_key="adoption", by=manager)
        after = timezone.now()
        transition = StageTransition.objects.filter(account=account).latest("changed_at", "id")
        account.refresh_from_db()
    assert account.lifecycle_stage == "adoption"
    assert (transition.from_stage, transition.to_stage) == ("onboarding", "adoption")
    assert transition.changed_by_id == manager.pk
    assert before <= transition.changed_at <= after


def test_it_records_nothing_when_the_stage_does_not_change(org):
    manager = MembershipFactory(organization=org, role=Role.MANAGER).user
    with tenant_context(org):
        services.lifecycle_stages_ensure()
        account = AccountFactory(lifecycle_stage="adoption")
        assert not services.account_stage_change(account=account, stage_key="adoption", by=manager)
        account.name = "Renamed Ltda."
        account.save()  # saves every column, the stage included, unchanged
    assert _transitions(org) == [("", "adoption", None)]


def test_it_refuses_a_stage_that_is_not_one_of_the_organizations(org, other_org):
    with tenant_context(other_org):
        LifecycleStageFactory(key="theirs")
    with tenant_context(org):
        services.lifecycle_stages_ensure()
        account = AccountFactory(lifecycle_stage="onboarding")
        with pytest.raises(ValidationError) as excinfo:
            services.account_stage_change(account=account, stage_key="theirs", by=None)
        account.refresh_from_db()
    assert "stage" in excinfo.value.message_dict
    assert account.lifecycle_stage == "onboarding"


def test_it_does_not_put_later_changes_in_the_same_transaction_down_to_the_user(org):
    manager = MembershipFactory(organization=org, role=Role.MANAGER).user
    with tenant_context(org):
        services.lifecycle_stages_ensure()
        first, second = AccountFactory(), AccountFactory()
        services.account_stage_change(account=first, stage_key="adoption", by=manager)
        Account.objects.filter(pk=second.pk).update(lifecycle_stage="retention")
    assert _transitions(org, account=first) == [("", "adoption", manager.pk)]
    assert _transitions(org, account=second) == [("", "retention", None)]


def test_it_records_the_stage_an_account_is_created_in(org):
    with tenant_context(org):
        AccountFactory(lifecycle_stage="onboarding")
        AccountFactory(lifecycle_stage="")
    assert _transitions(org) == [("", "onboarding", None)]


def test_it_records_a_change_cleared_to_no_stage(org):
    with tenant_context(org):
        account = AccountFactory(lifecycle_stage="retention")
        Account.objects.filter(pk=account.pk).update(lifecycle_stage="")
    assert _transitions(org) == [("", "retention", None), ("retention", "", None)]


def _import_accounts(org, content):
    with tenant_context(org):
        return import_file("accounts", content.encode(), context={"time_zone": org.time_zone})


def test_it_records_changes_made_by_a_csv_import(org):
    _import_accounts(
        org,
        "external_id;name;lifecycle_stage\na1;Padaria;onboarding\na2;Açougue;onboarding\n"
        "a3;Mercado;\n",
    )
    report = _import_accounts(
        org,
        "external_id;name;lifecycle_stage\na1;Padaria;adoption\na2;Açougue;onboarding\n"
        "a3;Mercado;retention\n",
    )
    assert report.result.updated == 2
    with tenant_context(org):
        ids = dict(Account.objects.values_list("external_id", "id"))
    assert _transitions(org, account_id=ids["a1"]) == [
        ("", "onboarding", None),
        ("onboarding", "adoption", None),
    ]
    assert _transitions(org, account_id=ids["a2"]) == [("", "onboarding", None)]
    assert _transitions(org, account_id=ids["a3"]) == [("", "retention", None)]


def test_it_stamps_the_history_with_djangos_clock_not_the_databases(org, time_machine):
    # On a pinned clock, the UI's change and an import's are both stamped with the
    # application's instant (the database's clock stays the real one).
    leap_evening = datetime(2028, 2, 29, 23, 30, tzinfo=ZoneInfo("America/Sao_Paulo"))
    time_machine.move_to(leap_evening, tick=False)
    manager = MembershipFactory(organization=org, role=Role.MANAGER).user
    with tenant_context(org):
        services.lifecycle_stages_ensure()
        customers.accounts_upsert([{"external_id": "c1", "name": "C1"}])
        account = Account.objects.get(external_id="c1")
        assert services.account_stage_change(account=account, stage_key="adoption", by=manager)
        customers.accounts_upsert([{"external_id": "c1", "lifecycle_stage": "retention"}])
        customers.accounts_upsert(
            [{"external_id": "c2", "name": "C2", "lifecycle_stage": "onboarding"}]
        )
        stamps = list(StageTransition.objects.order_by("id").values_list("to_stage", "changed_at"))
    assert stamps == [
        ("adoption", leap_evening),
        ("retention", leap_evening),
        ("onboarding", leap_evening),
    ]


def test_it_records_changes_made_by_a_batch_upsert_in_one_statement(org):
    rows = [
        {"external_id": f"b{i}", "name": f"B{i}", "lifecycle_stage": "onboarding"}
        for i in range(50)
    ]
    with tenant_context(org):
        customers.accounts_upsert(rows)
        customers.accounts_upsert([{**row, "lifecycle_stage": "adoption"} for row in rows])
        moved = StageTransition.objects.filter(from_stage="onboarding", to_stage="adoption")
        assert moved.count() == 50
        assert moved.values("changed_at").distinct().count() == 1  # one statement
    assert len(_transitions(org)) == 100


def _api_client(org):
    owner = MembershipFactory(organization=org, role=Role.OWNER).user
    with tenant_context(org):
        _api_key, key = account_services.api_key_create(name="tests", created_by=owner)
    client = Client()

    def send(method, path, body):
        return getattr(client, method)(
            f"/api/v1/{path}",
            data=json.dumps(body),
            content_type="application/json",
            headers={"authorization": f"Bearer {key}"},
        )

    return send


def test_it_records_changes_made_through_the_api(org):
    api = _api_client(org)
    created = api(
        "post",
        "accounts/",
        {"external_id": "api-1", "name": "Acme", "lifecycle_stage": "onboarding"},
    )
    assert created.status_code == 201
    assert api("patch", "accounts/api-1/", {"lifecycle_stage": "expansion"}).status_code == 200
    assert api("patch", "accounts/api-1/", {"segment": "SMB"}).status_code == 200
    assert _transitions(org) == [("", "onboarding", None), ("onboarding", "expansion", None)]


def test_it_keeps_each_organizations_history_to_itself(org, other_org):
    with tenant_context(org):
        AccountFactory(lifecycle_stage="onboarding")
    with tenant_context(other_org):
        AccountFactory(lifecycle_stage="adoption")
    assert _transitions(org) == [("", "onboarding", None)]
    assert _transitions(other_org) == [("", "adoption", None)]
    with connection.cursor() as cursor:  # no tenant: row-level security shows nothing
        cursor.execute("SELECT count(*) FROM journeys_stagetransition")
        assert cursor.fetchone()[0] == 0


def test_it_gives_accounts_that_had_a_stage_before_the_history_a_first_transition(org):
    migration = importlib.import_module("journeys.migrations.0008_stage_transition_trigger")
    with tenant_context(org):
        account = AccountFactory(lifecycle_stage="retention")
        AccountFactory(lifecycle_stage="")
        StageTransition.objects.all().delete()  # as before the trigger existed

    class SchemaEditor:
        connection = connection

    migration.backfill_current_stages(None, SchemaEditor())
    migration.backfill_current_stages(None, SchemaEditor())  # idempotent
    with tenant_context(org):
        [transition] = StageTransition.objects.all()
    assert (transition.account_id, transition.from_stage, transition.to_stage) == (
        account.pk,
        "",
        "retention",
    )
    assert transition.changed_at == account.created_at


# --- time in each stage -------------------------------------------------------------------


def test_it_computes_the_time_in_each_stage_from_the_history(org):
    """Hand-computed, `now` = 2026-03-31 00:00 UTC:

    account A: onboarding 03-01 → adoption 03-11 → retention 03-21 (now: 10 days so far)
    account B: onboarding 03-01 → adoption 03-05 → (still there: 26 days so far)
    account C: onboarding 03-29 (still there: 2 days so far)

    onboarding: completed stays 10 and 4 days → median 7; current 2 → median 2; 1 account
    adoption: completed 10 → 10; current 26 → 26; 1 account
    retention: no completed stay; current 10 → 10; 1 account
    expansion, advocacy: nothing
    """
    day = lambda d: datetime(2026, 3, d, tzinfo=UTC)  # noqa: E731
    with tenant_context(org):
        services.lifecycle_stages_ensure()
        a = AccountFactory(lifecycle_stage="retention")
        b = AccountFactory(lifecycle_stage="adoption")
        c = AccountFactory(lifecycle_stage="onboarding")
        StageTransition.objects.all().delete()  # the trigger's, stamped now; ours are dated
        history = [
            (a, "", "onboarding", 1),
            (a, "onboarding", "adoption", 11),
            (a, "adoption", "retention", 21),
            (b, "", "onboarding", 1),
            (b, "onboarding", "adoption", 5),
            (c, "", "onboarding", 29),
        ]
        for account, from_stage, to_stage, d in history:
            StageTransitionFactory(
                account=account, from_stage=from_stage, to_stage=to_stage, changed_at=day(d)
            )
        rows = {t.key: t for t in selectors.stage_time_list(now=day(31))}
    assert list(rows) == ["onboarding", "adoption", "retention", "expansion", "advocacy"]
    summary = {
        key: (
            t.accounts,
            t.completed_stays,
            t.median_completed_days,
            t.current_stays,
            t.median_current_days,
        )
        for key, t in rows.items()
    }
    assert summary == {
        "onboarding": (1, 2, 7.0, 1, 2.0),
        "adoption": (1, 1, 10.0, 1, 26.0),
        "retention": (1, 0, None, 1, 10.0),
        "expansion": (0, 0, None, 0, None),
        "advocacy": (0, 0, None, 0, None),
    }


def test_it_counts_fractions_of_days_and_lists_keys_that_are_not_stages_last(org):
    start = datetime(2026, 3, 1, tzinfo=UTC)
    with tenant_context(org):
        services.lifecycle_stages_ensure()
        account = AccountFactory(lifecycle_stage="Imported Stage")
        StageTransition.objects.all().delete()
        StageTransitionFactory(
            account=account, from_stage="", to_stage="onboarding", changed_at=start
        )
        StageTransitionFactory(
            account=account,
            from_stage="onboarding",
            to_stage="Imported Stage",
            changed_at=start + timedelta(hours=36),
        )
        rows = selectors.stage_time_list(now=start + timedelta(days=2))
    assert rows[0].median_completed_days == 1.5
    assert (rows[-1].key, rows[-1].stage, rows[-1].accounts) == ("Imported Stage", None, 1)
    assert rows[-1].median_current_days == 0.5


def test_it_does_not_mix_organizations_in_the_time_in_stage(org, other_org):
    with tenant_context(other_org):
        AccountFactory(lifecycle_stage="onboarding")
    with tenant_context(org):
        services.lifecycle_stages_ensure()
        rows = selectors.stage_time_list()
    assert all(t.accounts == 0 and t.current_stays == 0 for t in rows)
