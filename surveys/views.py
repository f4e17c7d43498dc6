"""The public answer page: no login; the signed token in the link names the
organization and the invitation, and sets the tenant for the request.

A GET never writes (mail scanners open every link). The page submits the chosen
score itself (static/js/answer.js) for a one-click feel; without JavaScript the
person presses the button. See surveys.services.response_record for how a
scanner's burst is told from a person.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from accounts.models import Organization
from accounts.tenancy import current_organization
from csplatform.http import private_response
from csplatform.ratelimit import limit_by_client_address
from csplatform.tenancy import tenant_context
from surveys import services
from surveys.models import Response, SurveyInvitation
from surveys.tokens import ExpiredTokenError, InvalidTokenError, read_answer_token

LANGUAGES = {"en": "en", "pt-br": "pt-br", "pt": "pt-br"}

# SURVEY_RATE_LIMIT per client address on the answer page, counted before the token is
# read: guessing tokens costs as much as answering. Not on unsubscribe: mail providers
# send RFC 8058 one-click unsubscribes for many people from a few addresses.
_rate_limited = limit_by_client_address(
    scope="survey", rate_setting="SURVEY_RATE_LIMIT", template="surveys/too_many_requests.html"
)


def _problem(request: HttpRequest, message: str, *, status: int) -> HttpResponse:
    return render(request, "surveys/problem.html", {"message": message}, status=status)


def _with_invitation(
    view: Callable[[HttpRequest, SurveyInvitation, str], HttpResponse], *, expires: bool = True
) -> Callable[[HttpRequest, str], HttpResponse]:
    """Open the token, enter its organization, find its invitation, speak its contact's
    language; a bad, expired or foreign token gets a page that says so."""

    def wrapped(request: HttpRequest, token: str) -> HttpResponse:
        try:
            organization_id, invitation_id = read_answer_token(token, expires=expires)
        except ExpiredTokenError:
            return _problem(
                request,
                _("This survey link has expired. Thank you all the same."),
                status=410,
            )
        except InvalidTokenError:
            return _problem(
                request,
                _("This survey link is not valid. Check that it was copied whole."),
                status=404,
            )
        organization = Organization.objects.filter(pk=organization_id, is_active=True).first()
        if organization is None:
            return _problem(request, _("This survey is no longer open. Thank you."), status=410)
        with tenant_context(organization):
            # A POST may record an answer: lock the invitation as it is read.
            invitation = services.invitation_for_answer(
                invitation_id, lock=request.method == "POST"
            )
            if invitation is None:
                return _problem(request, _("This survey is no longer open. Thank you."), status=410)
            language = LANGUAGES.get(
                (invitation.contact.locale or organization.default_locale or "").lower(), "en"
            )
            with translation.override(language):
                # One person's answer and comment, with no login: no cache may keep it.
                return private_response(view(request, invitation, token))

    return wrapped


def _score(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


def _page(
    request: HttpRequest,
    invitation: SurveyInvitation,
    token: str,
    *,
    score: int | None,
    status: int = 200,
    error: str = "",
    confirm: bool = False,
    comment: str = "",
) -> HttpResponse:
    survey = invitation.campaign.survey
    response = Response.objects.filter(invitation=invitation).first()
    language = translation.get_language()
    return render(
        request,
        "surveys/answer.html",
        {
            "organization": current_organization(),
            "survey": survey,
            "question": survey.question(language),
            "follow_up": survey.follow_up(language),
            "scale": list(survey.scale),
            "chosen": score if score is not None else (response.score if response else None),
            "response": response,
            # Submit on its own a score arriving from an email button, unless the person
            # already answered on purpose (a scanner opens every button: its later
            # submits are what reveal its burst).
            "autosubmit": score is not None
            and (response is None or response.automatic)
            and not confirm
            and not error,
            "confirm": confirm,
            "error": error,
            "comment": comment,
            "token": token,
        },
        status=status,
    )


@_rate_limited
@require_http_methods(["GET", "POST"])
@_with_invitation
def answer(request: HttpRequest, invitation: SurveyInvitation, token: str) -> HttpResponse:
    if request.method == "GET":
        return _page(request, invitation, token, score=_score(request.GET.get("score")))
    score = _score(request.POST.get("score"))
    comment = request.POST.get("comment")
    automatic = request.POST.get("automatic") == "1"
    if score is None:
        return _page(
            request,
            invitation,
            token,
            score=None,
            status=400,
            error=_("Choose a score."),
            comment=comment or "",
        )
    try:
        recorded = services.response_record(
            invitation=invitation, score=score, comment=comment, automatic=automatic, locked=True
        )
    except ValidationError as error:
        return _page(
            request,
            invitation,
            token,
            score=score,
            status=400,
            error=" ".join(error.messages),
            comment=comment or "",
        )
    if recorded.needs_confirmation:
        return _page(request, invitation, token, score=score, confirm=True)
    return redirect(reverse("public_surveys:thanks", args=[token]))


@require_http_methods(["GET"])
@_with_invitation
def thanks(request: HttpRequest, invitation: SurveyInvitation, token: str) -> HttpResponse:
    response = Response.objects.filter(invitation=invitation).first()
    if response is None:
        return redirect("public_surveys:answer", token=token)
    survey = invitation.campaign.survey
    return render(
        request,
        "surveys/thanks.html",
        {
            "organization": current_organization(),
            "survey": survey,
            "follow_up": survey.follow_up(translation.get_language()),
            "response": response,
            "token": token,
        },
    )


# Mail clients send RFC 8058 one-click unsubscribes as a bare POST, without a CSRF token:
# the signed token in the URL is the authority.
@csrf_exempt
@require_http_methods(["GET", "POST"])
@partial(_with_invitation, expires=False)  # an old email's unsubscribe still works
def unsubscribe(request: HttpRequest, invitation: SurveyInvitation, token: str) -> HttpResponse:
    contact = invitation.contact
    done = False
    if request.method == "POST":
        services.contact_opt_out(contact)
        done = True
    return render(
        request,
        "surveys/unsubscribe.html",
        {"organization": current_organization(), "done": done, "token": token},
    )
