"""The audit log: every admin action writes one entry, in its own transaction; admins read it."""

import ast
import json
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts import services
from accounts.audit import audit_event_list, audit_record
from accounts.models import (
    ApiKey,
    AuditEvent,
    AuditLogIsAppendOnly,
    MemberInvitation,
    Membership,
    Role,
)
from csplatform.tenancy import TenantScopeError, tenant_context
from tests.factories import (
    ApiKeyFactory,
    AuditEventFactory,
    ImportUploadFactory,
    MemberInvitationFactory,
    MembershipFactory,
    OrganizationFactory,
)
from tests.roles_health import MODEL_FORM
from tests.test_views_roles import ORG_VIEWS
from tests.test_views_roles import _post_data as _matrix_post_data
from tests.test_views_roles import _url as _matrix_url

Action = AuditEvent.Action


def _entries(organization):
    with tenant_context(organization):
        return list(AuditEvent.objects.order_by("at", "id"))


def _only_entry(organization):
    [entry] = _entries(organization)
    return entry


def _membership(team, persona):
    return Membership.objects.get(organization=team.organization, user=team.user(persona))


def _url(team, name, **kwargs):
    return reverse(name, kwargs={"org_slug": team.organization.slug, **kwargs})


def _log_url(team):
    return _url(team, "accounts:audit_log")


# --- each admin action writes exactly one entry ----------------------------------------


def test_it_records_an_invitation(team, signed_in):
    signed_in(team.admin).post(
        _url(team, "accounts:invitation_create"), {"email": "New@Example.com", "role": "manager"}
    )
    entry = _only_entry(team.organization)
    assert (entry.action, entry.actor, entry.actor_email) == (
        Action.MEMBER_INVITED,
        team.admin,
        team.admin.email,
    )
    assert entry.target == "new@example.com"
    assert entry.details["role"] == "manager"


def test_it_records_a_revoked_invitation(team, signed_in):
    with tenant_context(team.organization):
        invitation = MemberInvitationFactory(email="pending@example.com", role=Role.VIEWER)
    signed_in(team.owner).post(
        _url(team, "accounts:invitation_revoke", invitation_id=invitation.pk)
    )
    entry = _only_entry(team.organization)
    assert (entry.action, entry.actor, entry.target) == (
        Action.INVITATION_REVOKED,
        team.owner,
        "pending@example.com",
    )
    assert entry.details == {"role": "viewer"}


def test_it_records_a_role_change_with_the_old_and_new_role(team, signed_in):
    viewer = _membership(team, "viewer")
    signed_in(team.admin).post(
        _url(team, "accounts:member_role", membership_id=viewer.pk), {"role": "manager"}
    )
    entry = _only_entry(team.organization)
    assert (entry.action, entry.actor, entry.target) == (
        Action.MEMBER_ROLE_CHANGED,
        team.admin,
        team.viewer.email,
    )
    assert entry.details == {"old_role": "viewer", "new_role": "manager"}


def test_it_records_nothing_when_the_role_does_not_change(team):
    services.membership_change_role(
        membership=_membership(team, "viewer"), role=Role.VIEWER, actor=_membership(team, "admin")
    )
    assert _entries(team.organization) == []


def test_it_records_a_removed_member(team, signed_in):
    viewer = _membership(team, "viewer")
    signed_in(team.admin).post(_url(team, "accounts:member_remove", membership_id=viewer.pk))
    entry = _only_entry(team.organization)
    assert (entry.action, entry.actor, entry.target, entry.details) == (
        Action.MEMBER_REMOVED,
        team.admin,
        team.viewer.email,
        {"role": "viewer"},
    )


def test_it_records_a_new_api_key_by_name_and_prefix_never_the_key(team, signed_in):
    response = signed_in(team.admin).post(_url(team, "accounts:api_keys"), {"name": "CRM sync"})
    key = response.context["new_key"]
    entry = _only_entry(team.organization)
    with tenant_context(team.organization):
        api_key = ApiKey.objects.get()
    assert (entry.action, entry.actor, entry.target) == (
        Action.API_KEY_CREATED,
        team.admin,
        "CRM sync",
    )
    assert entry.details == {"name": "CRM sync", "prefix": api_key.prefix}
    stored = json.dumps(entry.details) + entry.target
    secret = key.split("_", 2)[2]  # csp_<organization id>_<secret>; the secret may hold "_"
    assert key not in stored
    assert secret not in stored
    assert secret[4:] not in stored  # not even the part after the displayed prefix
    assert api_key.hashed_key not in stored
    # And not on the page either.
    page = signed_in(team.admin).get(_log_url(team)).content.decode()
    assert secret not in page


def test_it_records_a_revoked_api_key(team, signed_in):
    with tenant_context(team.organization):
        api_key = ApiKeyFactory(name="old", prefix="csp_1_abcd")
    signed_in(team.admin).post(_url(team, "accounts:api_key_revoke", api_key_id=api_key.pk))
    entry = _only_entry(team.organization)
    assert (entry.action, entry.actor, entry.target, entry.details) == (
        Action.API_KEY_REVOKED,
        team.admin,
        "old",
        {"name": "old", "prefix": "csp_1_abcd"},
    )
    # Revoking it again changes nothing, so records nothing.
    signed_in(team.admin).post(_url(team, "accounts:api_key_revoke", api_key_id=api_key.pk))
    assert len(_entries(team.organization)) == 1


def test_it_refuses_details_that_look_like_a_secret(team):
    with tenant_context(team.organization), pytest.raises(ValueError, match="secrets"):
        audit_record(Action.API_KEY_CREATED, actor=team.admin, details={"key": "csp_1_x"})
    assert _entries(team.organization) == []


def test_it_records_a_health_model_change_with_what_changed(team, signed_in):
    client = signed_in(team.admin)
    client.post(_url(team, "dashboards:health_model"), MODEL_FORM)
    [first] = _entries(team.organization)
    assert (first.action, first.actor) == (Action.HEALTH_MODEL_UPDATED, team.admin)
    client.post(_url(team, "dashboards:health_model"), {**MODEL_FORM, "healthy_from": 80})
    second = _entries(team.organization)[-1]
    assert second.details == {"changed": {"healthy_from": {"old": 75, "new": 80}}}


def test_it_records_a_csv_import_from_the_page(team, signed_in):
    with tenant_context(team.organization):
        upload = ImportUploadFactory(
            filename="contas.csv", content=b"external_id;name\na1;Acme\na2;Beta\n"
        )
    signed_in(team.admin).post(_url(team, "accounts:import_confirm", upload_id=upload.pk))
    entry = _only_entry(team.organization)
    assert (entry.action, entry.actor, entry.target) == (
        Action.IMPORT_COMPLETED,
        team.admin,
        "contas.csv",
    )
    assert entry.details == {
        "kind": "accounts",
        "file": "contas.csv",
        "source": "page",
        "rows": 2,
        "created": 2,
        "updated": 0,
        "unchanged": 0,
    }


def test_it_records_a_refused_csv_import_without_the_bad_values(team, signed_in):
    with tenant_context(team.organization):
        upload = ImportUploadFactory(
            filename="bad.csv", content=b"external_id;name;signup_date\na1;Acme;31/02/2025\n"
        )
    response = signed_in(team.admin).post(
        _url(team, "accounts:import_confirm", upload_id=upload.pk)
    )
    assert response.status_code == 400
    entry = _only_entry(team.organization)
    assert (entry.action, entry.actor, entry.target) == (
        Action.IMPORT_FAILED,
        team.admin,
        "bad.csv",
    )
    assert entry.details == {"kind": "accounts", "file": "bad.csv", "source": "page", "problems": 1}
    assert "31/02/2025" not in json.dumps(entry.details)


def test_it_records_nothing_for_a_preview(team, signed_in):
    with tenant_context(team.organization):
        upload = ImportUploadFactory()
    signed_in(team.admin).get(_url(team, "accounts:import_preview", upload_id=upload.pk))
    assert _entries(team.organization) == []


def test_it_records_a_csv_import_from_the_command(team, tmp_path):
    good = tmp_path / "accounts.csv"
    good.write_text("external_id;name\na1;Acme\n")
    call_command("import_csv", "--org", team.organization.slug, "accounts", str(good))
    call_command("import_csv", "--org", team.organization.slug, "accounts", str(good), "--dry-run")
    bad = tmp_path / "bad.csv"
    bad.write_text("external_id;name\n;\n")
    with pytest.raises(CommandError):
        call_command("import_csv", "--org", team.organization.slug, "accounts", str(bad))
    completed, failed = _entries(team.organization)
    assert (completed.action, completed.actor, completed.actor_email) == (
        Action.IMPORT_COMPLETED,
        None,
        "",
    )
    assert completed.details["source"] == "command"
    assert completed.details["created"] == 1
    assert (failed.action, failed.target, failed.details["problems"]) == (
        Action.IMPORT_FAILED,
        "bad.csv",
        2,
    )


# --- a change that does not happen leaves no entry -------------------------------------


def test_it_records_nothing_for_a_refused_change(team):
    with pytest.raises(ValidationError):
        services.membership_change_role(
            membership=_membership(team, "owner"),
            role=Role.VIEWER,
            actor=_membership(team, "owner"),
        )
    with pytest.raises(ValidationError):
        services.membership_remove(
            membership=_membership(team, "owner"), actor=_membership(team, "admin")
        )
    assert _entries(team.organization) == []


class RolledBackError(Exception):
    pass


def _create_then_fail(team):
    with tenant_context(team.organization):
        services.api_key_create(name="doomed", created_by=team.admin)
        services.invitation_create(
            email="x@example.com", role=Role.VIEWER, invited_by=_membership(team, "admin")
        )
        services.membership_change_role(
            membership=_membership(team, "viewer"),
            role=Role.MANAGER,
            actor=_membership(team, "admin"),
        )
        raise RolledBackError


def test_it_records_nothing_when_the_change_rolls_back(team):
    with pytest.raises(RolledBackError):
        _create_then_fail(team)
    assert _entries(team.organization) == []
    with tenant_context(team.organization):
        assert not ApiKey.objects.exists()
        assert not MemberInvitation.objects.exists()
    assert _membership(team, "viewer").role == Role.VIEWER


def test_it_records_nothing_when_the_view_fails(team, signed_in, monkeypatch):
    def fail(**kwargs):
        raise RuntimeError("the mail relay is down")

    monkeypatch.setattr("accounts.services.enqueue_on_commit", lambda *a, **k: fail())
    client = signed_in(team.admin)
    client.raise_request_exception = False
    response = client.post(
        _url(team, "accounts:invitation_create"), {"email": "new@example.com", "role": "viewer"}
    )
    assert response.status_code == 500
    assert _entries(team.organization) == []


# --- append-only ----------------------------------------------------------------------


def test_it_never_updates_or_deletes_an_entry(team):
    with tenant_context(team.organization):
        entry = AuditEventFactory()
        entry.target = "tampered"
        with pytest.raises(AuditLogIsAppendOnly):
            entry.save()
        with pytest.raises(AuditLogIsAppendOnly):
            entry.delete()
        with pytest.raises(AuditLogIsAppendOnly):
            AuditEvent.objects.update(target="tampered")
        with pytest.raises(AuditLogIsAppendOnly):
            AuditEvent.objects.all().delete()
        assert AuditEvent.objects.get().target == "CRM sync"


def test_it_keeps_the_actors_email_after_the_user_is_deleted(team):
    with tenant_context(team.organization):
        AuditEventFactory(actor=team.manager, actor_email=team.manager.email)
    email = team.manager.email
    team.manager.delete()
    entry = _only_entry(team.organization)
    assert (entry.actor, entry.actor_email) == (None, email)


# --- tenancy ----------------------------------------------------------------------------


def test_it_never_shows_another_organizations_entries(team, signed_in):
    other = OrganizationFactory()
    with tenant_context(other):
        AuditEventFactory(target="their-secret-project", actor=team.outsider)
    with tenant_context(team.organization):
        AuditEventFactory(target="our-key")
        assert [e.target for e in audit_event_list()] == ["our-key"]
    page = signed_in(team.admin).get(_log_url(team)).content.decode()
    assert "our-key" in page
    assert "their-secret-project" not in page
    # Not even by asking for their actor.
    page = signed_in(team.admin).get(_log_url(team), {"actor": team.outsider.pk})
    assert "their-secret-project" not in page.content.decode()


def test_it_refuses_to_record_one_organizations_change_in_another(team):
    stranger = MembershipFactory(role=Role.VIEWER)
    with tenant_context(team.organization), pytest.raises(TenantScopeError):
        audit_record(Action.MEMBER_REMOVED, actor=team.admin, organization=stranger.organization)


# --- the page ---------------------------------------------------------------------------


def _event(minutes_ago, **fields):
    return AuditEventFactory(at=timezone.now() - timedelta(minutes=minutes_ago), **fields)


def test_it_shows_entries_newest_first(team, signed_in):
    with tenant_context(team.organization):
        _event(30, target="entry-older")
        _event(1, target="entry-newest")
        _event(10, target="entry-middle")
    page = signed_in(team.owner).get(_log_url(team)).content.decode()
    assert page.index("entry-newest") < page.index("entry-middle") < page.index("entry-older")


def test_it_filters_by_action_and_by_actor(team, signed_in):
    with tenant_context(team.organization):
        _event(3, target="key-by-admin", actor=team.admin, actor_email=team.admin.email)
        _event(
            2,
            target="removal-by-owner",
            action=Action.MEMBER_REMOVED,
            actor=team.owner,
            actor_email=team.owner.email,
            details={"role": "viewer"},
        )
        _event(1, target="key-by-owner", actor=team.owner, actor_email=team.owner.email)
    client = signed_in(team.admin)

    by_action = client.get(_log_url(team), {"action": Action.MEMBER_REMOVED}).content.decode()
    assert "removal-by-owner" in by_action
    assert "key-by-admin" not in by_action
    assert "key-by-owner" not in by_action

    by_actor = client.get(_log_url(team), {"actor": team.owner.pk}).content.decode()
    assert "removal-by-owner" in by_actor
    assert "key-by-owner" in by_actor
    assert "key-by-admin" not in by_actor

    both = client.get(_log_url(team), {"action": Action.API_KEY_CREATED, "actor": team.owner.pk})
    assert [event.target for event, _details in both.context["rows"]] == ["key-by-owner"]

    nonsense = client.get(_log_url(team), {"action": "nope", "actor": "x"})
    assert nonsense.status_code == 200
    assert len(nonsense.context["rows"]) == 3


def test_it_filters_with_htmx_returning_only_the_table(team, signed_in):
    with tenant_context(team.organization):
        _event(1, target="key-by-admin")
    response = signed_in(team.admin).get(_log_url(team), HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert "key-by-admin" in html
    assert "<html" not in html


def test_it_paginates_fifty_entries_a_page(team, signed_in):
    with tenant_context(team.organization):
        AuditEvent.objects.bulk_create(
            [
                AuditEventFactory.build(
                    at=timezone.now() - timedelta(minutes=n), target=f"entry-{n:02d}"
                )
                for n in range(51)
            ]
        )
    client = signed_in(team.admin)
    first = client.get(_log_url(team), {"action": Action.API_KEY_CREATED})
    assert len(first.context["rows"]) == 50
    assert first.context["rows"][0][0].target == "entry-00"
    html = first.content.decode()
    assert "entry-50" not in html
    assert "page=2" in html
    assert "action=api_key.created&amp;page=2" in html  # the filter is kept
    second = client.get(_log_url(team), {"action": Action.API_KEY_CREATED, "page": 2})
    assert [event.target for event, _details in second.context["rows"]] == ["entry-50"]


def test_it_explains_an_empty_log(team, signed_in):
    page = signed_in(team.admin).get(_log_url(team)).content.decode()
    assert "Nothing recorded yet" in page
    filtered = signed_in(team.admin).get(_log_url(team), {"action": Action.MEMBER_REMOVED})
    assert "No entries match these filters." in filtered.content.decode()


def test_it_shows_details_in_words_and_who_did_it(team, signed_in):
    with tenant_context(team.organization):
        _event(
            1,
            action=Action.MEMBER_ROLE_CHANGED,
            actor=team.owner,
            actor_email=team.owner.email,
            target="someone@example.com",
            details={"old_role": "viewer", "new_role": "admin"},
        )
        _event(2, actor=None, actor_email="", target="from-a-script")
    page = signed_in(team.admin).get(_log_url(team)).content.decode()
    assert "Member&#x27;s role changed" in page or "Member's role changed" in page
    assert team.owner.email in page
    assert "<dt>old role</dt><dd>Board viewer</dd>" in page
    assert "<dt>new role</dt><dd>Admin</dd>" in page
    assert "no user (the API or a command)" in page


def test_it_is_linked_for_admins_only(team, signed_in):
    home = _url(team, "accounts:members")
    assert _log_url(team) in signed_in(team.admin).get(home).content.decode()
    executive = _url(team, "dashboards:executive")
    assert _log_url(team) not in signed_in(team.manager).get(executive).content.decode()


def test_it_reads_the_page_in_a_constant_number_of_queries(team, signed_in):
    client = signed_in(team.admin)

    def queries_with(entries):
        with tenant_context(team.organization):
            AuditEvent.objects.bulk_create(
                [
                    AuditEventFactory.build(actor=team.owner, actor_email=team.owner.email)
                    for _ in range(entries)
                ]
            )
        with CaptureQueriesContext(connection) as captured:
            assert client.get(_log_url(team)).status_code == 200
        return len(captured)

    one = queries_with(1)
    fifty = queries_with(49)
    assert one == fifty


# --- every admin change in the role matrix is audited ----------------------------------

ADMIN_CHANGES = sorted(
    name
    for name, (method, minimum, _s, _d) in ORG_VIEWS.items()
    if method == "post" and minimum == "admin"
)


@pytest.mark.parametrize("name", ADMIN_CHANGES)
def test_it_records_every_admin_change_once(name, team, signed_in):
    url = _matrix_url(name, team)
    data = _matrix_post_data(name, team, ORG_VIEWS[name][3])
    with tenant_context(team.organization):
        before = AuditEvent.objects.count()
    response = signed_in(team.admin).post(url, data)
    assert response.status_code == ORG_VIEWS[name][2]
    with tenant_context(team.organization):
        entries = list(AuditEvent.objects.order_by("id"))[before:]
    assert len(entries) == 1, f"{name} should write one audit entry"
    assert (entries[0].actor, entries[0].actor_email) == (team.admin, team.admin.email)


def test_it_records_an_erasure_without_naming_the_person(team, signed_in):
    from tests.factories import ContactFactory

    with tenant_context(team.organization):
        contact = ContactFactory(email="erase.me@customer.example", name="Zélia Apagada")
    signed_in(team.admin).post(
        _url(team, "accounts:contact_erase", contact_id=contact.pk),
        {"email": "erase.me@customer.example"},
    )
    entry = _only_entry(team.organization)
    assert (entry.action, entry.actor, entry.target) == (
        Action.CONTACT_ERASED,
        team.admin,
        f"#{contact.pk}",
    )
    stored = json.dumps(entry.details) + entry.target
    assert "erase.me" not in stored
    assert "Zélia" not in stored
    assert entry.details["channel"] == "web"


def test_it_records_an_export_by_an_owner(team, signed_in):
    response = signed_in(team.owner).post(_url(team, "accounts:organization_export"))
    assert response.status_code == 200
    entry = _only_entry(team.organization)
    assert (entry.action, entry.actor) == (Action.ORGANIZATION_EXPORTED, team.owner)


def test_it_records_a_privacy_settings_change_with_the_old_and_new_value(team, signed_in):
    old = team.organization.usage_event_retention_days
    client = signed_in(team.admin)
    client.post(_url(team, "accounts:privacy"), {"usage_event_retention_days": "90"})
    entry = _only_entry(team.organization)
    assert (entry.action, entry.actor, entry.target) == (
        Action.ORGANIZATION_UPDATED,
        team.admin,
        team.organization.slug,
    )
    assert entry.details == {"changed": {"usage_event_retention_days": {"old": old, "new": 90}}}
    # Saving the same value again changes nothing, so records nothing.
    client.post(_url(team, "accounts:privacy"), {"usage_event_retention_days": "90"})
    assert len(_entries(team.organization)) == 1


def test_it_records_an_organization_change_in_the_service(team):
    from accounts.models import Organization

    in_memory = Organization.objects.get(pk=team.organization.pk)
    old = in_memory.usage_event_retention_days
    in_memory.usage_event_retention_days = 120  # as a ModelForm leaves it after validating
    changed = services.organization_update(
        organization=in_memory, values={"usage_event_retention_days": 120}, actor=team.owner
    )
    assert changed == {"usage_event_retention_days": {"old": old, "new": 120}}
    team.organization.refresh_from_db()
    assert team.organization.usage_event_retention_days == 120
    assert _only_entry(team.organization).details == {"changed": changed}


def test_it_records_an_export_in_the_service_and_not_for_the_command(team, tmp_path):
    import io

    from accounts import privacy

    call_command(
        "export_organization",
        "--organization",
        team.organization.slug,
        "--output",
        str(tmp_path / "export.zip"),
        stdout=io.StringIO(),
    )
    assert _entries(team.organization) == []  # a read-only snapshot: nothing recorded
    with tenant_context(team.organization):
        manifest = privacy.organization_export(io.BytesIO(), actor=team.owner)
    entry = _only_entry(team.organization)
    assert (entry.action, entry.actor, entry.target) == (
        Action.ORGANIZATION_EXPORTED,
        team.owner,
        team.organization.slug,
    )
    assert entry.details == {"files": len(manifest["files"])}


def test_it_records_an_import_once_when_it_is_confirmed_twice(team):
    from accounts import imports

    with tenant_context(team.organization):
        upload = ImportUploadFactory(filename="contas.csv", content=b"external_id;name\na1;Acme\n")
        first = imports.import_upload_confirm(upload=upload, actor=team.admin)
        again = imports.import_upload_confirm(upload=upload, actor=team.admin)
    assert first is not None
    assert first["rows"] == 1
    assert again is None
    assert _only_entry(team.organization).action == Action.IMPORT_COMPLETED


# --- views write no entry: the service they call does ---------------------------------

ACCOUNTS_VIEW_MODULES = sorted(
    path
    for path in (Path(settings.BASE_DIR) / "accounts").glob("*views*.py")
    if path.name != "__init__.py"
)


def _audit_writers() -> set[str]:
    """accounts.audit's functions that write an entry: audit_record and every function
    of that module that calls it (audit_import…), found by reading the module."""
    tree = ast.parse((Path(settings.BASE_DIR) / "accounts" / "audit.py").read_text())
    writers = {"audit_record"}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and any(
            isinstance(call, ast.Call) and _called_name(call) == "audit_record"
            for call in ast.walk(node)
        ):
            writers.add(node.name)
    return writers


def _called_name(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def _audit_writes_in(source: str, writers: set[str]) -> list[str]:
    """What in `source` writes an audit entry itself: a call to one of `writers`, or an
    AuditEvent created or saved by hand. Each as `line: name`."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        name = _called_name(node)
        on_audit_event = "AuditEvent" in ast.unparse(node.func)
        if name in writers or (on_audit_event and name in {"AuditEvent", "create", "save"}):
            found.append(f"{node.lineno}: {ast.unparse(node.func)}")
    return found


def test_it_knows_the_accounts_views_and_the_audit_writers():
    names = {path.name for path in ACCOUNTS_VIEW_MODULES}
    assert {"views.py", "audit_views.py", "imports_views.py", "privacy_views.py"} <= names
    assert {"audit_record", "audit_import"} <= _audit_writers()
    assert "audit_event_list" not in _audit_writers()  # a read, which the log page uses


def test_it_finds_an_audit_write_in_a_view():
    writers = _audit_writers()
    source = (
        "def view(request):\n"
        "    audit_record(Action.X, actor=request.user)\n"
        "    audit.audit_import(actor=None, kind='k', filename='f', source='page')\n"
        "    AuditEvent.objects.create(action='x')\n"
        "    audit_event_list()\n"
    )
    assert _audit_writes_in(source, writers) == [
        "2: audit_record",
        "3: audit.audit_import",
        "4: AuditEvent.objects.create",
    ]


@pytest.mark.parametrize("path", ACCOUNTS_VIEW_MODULES, ids=lambda path: path.name)
def test_it_leaves_the_audit_entry_to_the_service_in_accounts_views(path):
    """An accounts view calls a service, which records the entry in the change's own
    transaction: a view never writes one. (dashboards/views/ gets the same rule from
    its own reshaping; this test covers accounts only.)"""
    assert _audit_writes_in(path.read_text(), _audit_writers()) == []
