import hashlib
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordResetForm
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST
from django.views.i18n import set_language

from accounts import selectors, services
from accounts.forms import (
    ApiKeyForm,
    EmailAuthenticationForm,
    MemberInvitationForm,
    RoleForm,
    SignUpForm,
)
from accounts.http import OrganizationRequest, SignedInRequest
from accounts.models import ApiKey, MemberInvitation, User, normalize_email
from accounts.permissions import admin_required
from accounts.tenancy import current_organization
from accounts.tokens import ExpiredTokenError, InvalidTokenError, read_invitation_token
from csplatform.ratelimit import Verdict, rate_limit_hit, rate_limit_reached
from csplatform.security import client_network
from csplatform.tenancy import tenant_context


@require_POST
def language_set(request: HttpRequest) -> HttpResponse:
    """Django's language switch, also remembered on the signed-in user's profile."""
    response = set_language(request)
    if isinstance(request.user, User):
        services.user_language_set(user=request.user, language=request.POST.get("language", ""))
    return response


@login_required
def home(request: SignedInRequest) -> HttpResponse:
    """Straight into the only organization, or to the switcher when there are several."""
    memberships = list(request.user.memberships.select_related("organization"))
    active = [m for m in memberships if m.organization.is_active]
    if len(active) == 1:
        return redirect("dashboards:home", org_slug=active[0].organization.slug)
    return redirect("organization_list")


@login_required
def organization_list(request: SignedInRequest) -> HttpResponse:
    memberships = (
        request.user.memberships.select_related("organization")
        .filter(organization__is_active=True)
        .order_by("organization__name")
    )
    return render(request, "accounts/organization_list.html", {"memberships": memberships})


def _members_page(
    request: OrganizationRequest,
    invitation_form: MemberInvitationForm | None = None,
    status: int = 200,
) -> HttpResponse:
    actor = request.membership
    memberships = selectors.membership_list()
    invitations = selectors.invitation_open_list()
    rows = [
        (m, RoleForm(initial={"role": m.role}, actor=actor), services.can_manage(actor, m))
        for m in memberships
    ]
    context = {
        "member_rows": rows,
        "invitations": invitations,
        "invitation_form": invitation_form or MemberInvitationForm(actor=actor),
        "invitation_ttl_days": settings.INVITATION_TTL_DAYS,
    }
    return render(request, "accounts/members.html", context, status=status)


@admin_required
def members(request: OrganizationRequest, org_slug: str) -> HttpResponse:
    return _members_page(request)


@admin_required
@require_POST
def invitation_create(request: OrganizationRequest, org_slug: str) -> HttpResponse:
    actor = request.membership
    form = MemberInvitationForm(request.POST, actor=actor)
    if form.is_valid():
        try:
            invitation = services.invitation_create(
                email=form.cleaned_data["email"], role=form.cleaned_data["role"], invited_by=actor
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(
                request, _("Invitation sent to %(email)s.") % {"email": invitation.email}
            )
            return redirect("accounts:members", org_slug=org_slug)
    return _members_page(request, invitation_form=form, status=400)


@admin_required
@require_POST
def invitation_revoke(
    request: OrganizationRequest, org_slug: str, invitation_id: int
) -> HttpResponse:
    invitation = get_object_or_404(MemberInvitation, pk=invitation_id)
    if services.invitation_revoke(invitation=invitation, actor=request.user):
        messages.success(
            request, _("Invitation to %(email)s revoked.") % {"email": invitation.email}
        )
    else:
        messages.info(
            request,
            _("The invitation to %(email)s had already expired or been used.")
            % {"email": invitation.email},
        )
    return redirect("accounts:members", org_slug=org_slug)


@admin_required
@require_POST
def member_role(request: OrganizationRequest, org_slug: str, membership_id: int) -> HttpResponse:
    membership = selectors.membership_get(membership_id)
    form = RoleForm(request.POST, actor=request.membership)
    if not form.is_valid():
        messages.error(request, _("Choose one of the roles offered."))
        return redirect("accounts:members", org_slug=org_slug)
    try:
        revoked = services.membership_change_role(
            membership=membership,
            role=form.cleaned_data["role"],
            actor=request.membership,
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request,
            _("%(email)s is now %(role)s.")
            % {"email": membership.user.email, "role": membership.get_role_display()},
        )
        _tell_what_was_revoked(request, revoked)
    return redirect("accounts:members", org_slug=org_slug)


def _tell_what_was_revoked(request: HttpRequest, revoked: dict[str, Any]) -> None:
    """Name the API keys and invitations a removal or demotion revoked: an integration
    using one of those keys now gets 401s, and whoever made the change must know."""
    if keys := revoked.get("revoked_api_keys"):
        names = ", ".join(f"{key['name']} ({key['prefix']}…)" for key in keys)
        messages.warning(
            request,
            ngettext(
                "Their API key %(keys)s was revoked: an integration using it must get a "
                "new key from an admin (API keys page).",
                "Their API keys %(keys)s were revoked: integrations using them must get "
                "new keys from an admin (API keys page).",
                len(keys),
            )
            % {"keys": names},
        )
    if invitations := revoked.get("revoked_invitations"):
        messages.warning(
            request,
            ngettext(
                "Their open invitation to %(emails)s was revoked: invite again if needed.",
                "Their open invitations to %(emails)s were revoked: invite again if needed.",
                len(invitations),
            )
            % {"emails": ", ".join(invitations)},
        )


@admin_required
@require_POST
def member_remove(request: OrganizationRequest, org_slug: str, membership_id: int) -> HttpResponse:
    membership = selectors.membership_get(membership_id)
    try:
        revoked = services.membership_remove(membership=membership, actor=request.membership)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("%(email)s was removed.") % {"email": membership.user.email})
        _tell_what_was_revoked(request, revoked)
    return redirect("accounts:members", org_slug=org_slug)


def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    """The emailed link. The signed token names the organization, so it sets the tenant."""
    try:
        ref = read_invitation_token(token)
    except ExpiredTokenError:
        return _invitation_problem(request, _("This invitation has expired."), status=410)
    except InvalidTokenError:
        return _invitation_problem(request, _("This invitation link is not valid."), status=404)
    with tenant_context(ref.organization_id) as organization:
        invitation = MemberInvitation.objects.filter(pk=ref.invitation_id).first()
        if invitation is None or not invitation.is_open or not organization.is_active:
            return _invitation_problem(
                request, _("This invitation is no longer valid."), status=410
            )
        return _invitation_accept_step(request, invitation)


def _invitation_problem(request: HttpRequest, message: str, *, status: int) -> HttpResponse:
    return render(request, "accounts/invitation_problem.html", {"message": message}, status=status)


def _invitation_accept_step(request: HttpRequest, invitation: MemberInvitation) -> HttpResponse:
    organization = current_organization()
    user = request.user
    context: dict[str, object] = {
        "invitation": invitation,
        "invitation_organization": organization,
    }
    if user.is_authenticated:
        if normalize_email(user.email) != normalize_email(invitation.email):
            context["wrong_user"] = True
            return render(request, "accounts/invitation_accept.html", context, status=403)
        if request.method == "POST":
            try:
                services.invitation_accept(invitation=invitation, user=user)
            except ValidationError as error:
                return _invitation_problem(request, " ".join(error.messages), status=410)
            messages.success(request, _("Welcome to %(name)s.") % {"name": organization.name})
            return redirect("dashboards:home", org_slug=organization.slug)
        return render(request, "accounts/invitation_accept.html", context)

    existing = User.objects.filter(email__iexact=invitation.email).first()
    if existing is not None:
        return redirect_to_login(request.get_full_path(), reverse("login"))
    form = SignUpForm(request.POST or None, email=invitation.email)
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                new_user = services.user_get_or_create(
                    email=invitation.email,
                    password=form.cleaned_data["password1"],
                    full_name=form.cleaned_data["full_name"],
                )
                services.invitation_accept(invitation=invitation, user=new_user)
        except ValidationError as error:
            return _invitation_problem(request, " ".join(error.messages), status=410)
        login(request, new_user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, _("Welcome to %(name)s.") % {"name": organization.name})
        return redirect("dashboards:home", org_slug=organization.slug)
    context["form"] = form
    status = 400 if request.method == "POST" else 200
    return render(request, "accounts/invitation_accept.html", context, status=status)


def _api_keys_page(
    request: OrganizationRequest, *, new_key: str | None = None, form: ApiKeyForm | None = None
) -> HttpResponse:
    context = {
        "api_keys": ApiKey.objects.select_related("created_by").order_by("-created_at"),
        "form": form or ApiKeyForm(),
        "new_key": new_key,
    }
    return render(request, "accounts/api_keys.html", context, status=400 if form else 200)


@admin_required
def api_keys(request: OrganizationRequest, org_slug: str) -> HttpResponse:
    if request.method != "POST":
        return _api_keys_page(request)
    form = ApiKeyForm(request.POST)
    if not form.is_valid():
        return _api_keys_page(request, form=form)
    _api_key, key = services.api_key_create(
        name=form.cleaned_data["name"],
        created_by=request.user,
    )
    return _api_keys_page(request, new_key=key)


@admin_required
@require_POST
def api_key_revoke(request: OrganizationRequest, org_slug: str, api_key_id: int) -> HttpResponse:
    api_key = get_object_or_404(ApiKey, pk=api_key_id)
    services.api_key_revoke(api_key=api_key, actor=request.user)
    messages.success(request, _("The key %(name)s was revoked.") % {"name": api_key.name})
    return redirect("accounts:api_keys", org_slug=org_slug)


# --- signing in and resetting a password ------------------------------------------------


def _too_many(request: HttpRequest, template: str, verdict: Verdict) -> HttpResponse:
    context = {
        "retry_after": verdict.retry_after,
        "wait_minutes": max(1, -(-verdict.retry_after // 60)),  # rounded up: never too short
    }
    response = render(request, template, context, status=429)
    response["Retry-After"] = str(verdict.retry_after)
    return response


class SignInView(auth_views.LoginView):
    """Django's sign-in, and a limit on failures per client network whatever the email
    (SIGN_IN_FAILURE_RATE_LIMIT): axes pauses one email from one network, this pauses
    a network trying one password on many emails (password spraying)."""

    authentication_form = EmailAuthenticationForm
    redirect_authenticated_user = True
    scope = "sign-in-failures"

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        verdict = rate_limit_reached(
            scope=self.scope,
            ident=client_network(request) or "unknown",
            rate=settings.SIGN_IN_FAILURE_RATE_LIMIT,
        )
        if not verdict.allowed:
            return _too_many(request, settings.AXES_LOCKOUT_TEMPLATE, verdict)
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form: Any) -> HttpResponse:
        rate_limit_hit(
            scope=self.scope,
            ident=client_network(self.request) or "unknown",
            rate=settings.SIGN_IN_FAILURE_RATE_LIMIT,
        )
        return super().form_invalid(form)


class PasswordResetView(auth_views.PasswordResetView):
    """Django's password reset, limited per client network and per email
    (PASSWORD_RESET_RATE_LIMIT, whether or not an account uses the email, so the limit
    tells nothing), with the link built from SITE_URL as in every other email: never
    from the Host header, which the client writes."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        rate = settings.PASSWORD_RESET_RATE_LIMIT
        email = request.POST.get("email", "").strip().lower()
        idents = [("password-reset", client_network(request) or "unknown")]
        if email:
            # Hashed: an email address is personal data, and has no business in Redis.
            digest = hashlib.sha256(email.encode()).hexdigest()[:32]
            idents.append(("password-reset-email", digest))
        for scope, ident in idents:
            verdict = rate_limit_hit(scope=scope, ident=ident, rate=rate)
            if not verdict.allowed:
                return _too_many(request, "registration/password_reset_too_many.html", verdict)
        return super().post(request, *args, **kwargs)

    def form_valid(self, form: PasswordResetForm) -> HttpResponse:
        self.extra_email_context = {"site_url": settings.SITE_URL}
        return super().form_valid(form)
