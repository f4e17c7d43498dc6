"""Signing in, choosing an organization, invitations and the language (site-wide, no
namespace), and the organization's own settings pages under /o/<org_slug>/ (namespace
"accounts"). Mounted by csplatform/urls.py at the root."""

from django.urls import include, path

from accounts import audit_views, imports_views, privacy_views, views

organization_patterns = [
    path("members/", views.members, name="members"),
    path("members/invite/", views.invitation_create, name="invitation_create"),
    path("members/<int:membership_id>/role/", views.member_role, name="member_role"),
    path("members/<int:membership_id>/remove/", views.member_remove, name="member_remove"),
    path("imports/", imports_views.imports, name="imports"),
    path("imports/<int:upload_id>/", imports_views.import_preview, name="import_preview"),
    path("imports/<int:upload_id>/confirm/", imports_views.import_confirm, name="import_confirm"),
    path("api-keys/", views.api_keys, name="api_keys"),
    path("audit-log/", audit_views.audit_log, name="audit_log"),
    path("api-keys/<int:api_key_id>/revoke/", views.api_key_revoke, name="api_key_revoke"),
    path(
        "invitations/<int:invitation_id>/revoke/",
        views.invitation_revoke,
        name="invitation_revoke",
    ),
    path("privacy/", privacy_views.privacy_settings, name="privacy"),
    path("privacy/export/", privacy_views.organization_export, name="organization_export"),
    path("contacts/<int:contact_id>/erase/", privacy_views.contact_erase, name="contact_erase"),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("orgs/", views.organization_list, name="organization_list"),
    path("o/<slug:org_slug>/", include((organization_patterns, "accounts"))),
    path("invitations/<str:token>/", views.invitation_accept, name="invitation_accept"),
    path("accounts/login/", views.SignInView.as_view(), name="login"),
    path("accounts/password_reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("i18n/setlang/", views.language_set, name="set_language"),
]
