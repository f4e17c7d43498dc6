"""The public answer page: a GET never writes, a scanner's burst records nothing, one
person's click records one response, and every bad input gets a page that says so."""

import re
from datetime import timedelta

import pytest
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from csplatform.tenancy import tenant_context
from journeys.models import Sentiment, Touchpoint
from surveys.models import (
    SCALES,
    AnswerAttempt,
    Response,
    ResponseEdit,
    SurveyKind,
    is_negative,
    negative_answers,
)
from surveys.services import COMMENT_MAX_LENGTH
from surveys.tokens import make_answer_token
from tests.factories import (
    ContactFactory,
    OrganizationFactory,
    ResponseFactory,
    SurveyFactory,
    SurveyInvitationFactory,
    TouchpointFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def org():
    return OrganizationFactory(slug="acme", default_locale="en")


@pytest.fixture
def invitation(org):
    with tenant_context(org):
        return SurveyInvitationFactory(contact=ContactFactory(locale="en"))


def _token(invitation):
    return make_answer_token(
        organization_id=invitation.organization_id, invitation_id=invitation.pk
    )


def _url(invitation, name="public_surveys:answer"):
    return reverse(name, args=[_token(invitation)])


def _responses(org):
    with tenant_context(org):
        return list(Response.objects.all())


def _answer(client, invitation, score, *, automatic, comment=None):
    data = {"score": score, "automatic": "1" if automatic else "0"}
    if comment is not None:
        data["comment"] = comment
    return client.post(_url(invitation), data)


def test_it_records_nothing_when_every_link_of_an_email_is_fetched(client, org, invitation):
    for score in range(11):
        page = client.get(_url(invitation) + f"?score={score}")
        assert page.status_code == 200
        assert "data-autosubmit" in page.content.decode()
    assert _responses(org) == []


def test_it_records_one_response_for_one_persons_click(client, org, invitation):
    page = client.get(_url(invitation) + "?score=9")
    assert 'value="9" checked' in page.content.decode()
    done = _answer(client, invitation, 9, automatic=True)
    assert done.status_code == 302
    assert re.fullmatch(r"/s/[^/]+/thanks/", done["Location"])
    _answer(client, invitation, 9, automatic=True)  # the same page submitted twice
    [response] = _responses(org)
    assert (response.score, response.kind, response.touchpoint) == (9, "nps", "company")
    assert response.account_id == invitation.contact.account_id


def test_it_records_nothing_for_a_scanners_burst_until_the_person_confirms(client, org, invitation):
    for score in range(11):  # a scanner running the page's script on every button
        page = _answer(client, invitation, score, automatic=True)
    assert page.status_code == 200
    assert "Please confirm your answer" in page.content.decode()
    assert "data-autosubmit" not in page.content.decode()
    assert _responses(org) == []
    with tenant_context(org):
        assert Touchpoint.objects.count() == 0  # the 0's detractor touchpoint went too
    _answer(client, invitation, 8, automatic=False)  # the person, on purpose
    assert [r.score for r in _responses(org)] == [8]


def test_it_counts_a_person_who_clicks_after_the_scanners_minute(client, org, invitation):
    for score in (0, 10):
        _answer(client, invitation, score, automatic=True)
    with tenant_context(org):
        AnswerAttempt.objects.update(at=timezone.now() - timedelta(minutes=2))
    _answer(client, invitation, 7, automatic=True)
    assert [r.score for r in _responses(org)] == [7]


def test_it_records_a_detractor_as_a_negative_touchpoint_on_its_account_at_once(
    client, org, invitation
):
    _answer(client, invitation, 3, automatic=True)
    with tenant_context(org):
        [touchpoint] = Touchpoint.objects.select_related("type")
        response = Response.objects.get()
    assert touchpoint.sentiment == Sentiment.NEGATIVE
    assert touchpoint.account_id == invitation.contact.account_id
    assert touchpoint.type.channel == "survey"
    # The link: surveys and journeys share no foreign key.
    assert touchpoint.external_id == f"survey-response-{response.pk}"


@pytest.mark.parametrize(
    ("kind", "score", "negative"),
    [("csat", 2, True), ("csat", 3, False), ("ces", 3, True), ("ces", 4, False), ("nps", 7, False)],
)
def test_it_records_low_csat_and_ces_as_negative_touchpoints(client, org, kind, score, negative):
    with tenant_context(org):
        invitation = SurveyInvitationFactory(
            campaign__survey=SurveyFactory(kind=kind), contact=ContactFactory(locale="en")
        )
    _answer(client, invitation, score, automatic=False)
    with tenant_context(org):
        assert Touchpoint.objects.filter(sentiment=Sentiment.NEGATIVE).exists() == negative


@pytest.mark.django_db(transaction=True)  # the real BEGIN and COMMIT, counted
def test_it_records_a_detractors_answer_in_a_fixed_number_of_queries(
    client, org, invitation, django_assert_num_queries
):
    with tenant_context(org):
        earlier = SurveyInvitationFactory(contact=ContactFactory(locale="en"))
    _answer(client, earlier, 0, automatic=False)  # creates the touchpoint type
    # The organization; BEGIN, the tenant; the invitation read and locked at once; its
    # response; the insert; the touchpoint type and the negative touchpoint (named by the
    # response's id: no link to write back); the satisfaction refresh in the outbox;
    # COMMIT. No savepoint, no second lock.
    with django_assert_num_queries(10):
        done = _answer(client, invitation, 3, automatic=False)
    assert done.status_code == 302
    with tenant_context(org):
        response = Response.objects.get(invitation=invitation)
        recorded = Touchpoint.objects.filter(external_id=f"survey-response-{response.pk}")
        assert (response.score, recorded.exists()) == (3, True)


def test_it_keeps_one_touchpoint_per_negative_response_through_its_edits(client, org, invitation):
    with tenant_context(org):
        other = TouchpointFactory(account=invitation.contact.account, sentiment="negative")
    _answer(client, invitation, 2, automatic=False)
    _answer(client, invitation, 5, automatic=False)  # still a detractor: the same one
    with tenant_context(org):
        response = Response.objects.get()
        name = f"survey-response-{response.pk}"
        [recorded] = Touchpoint.objects.filter(external_id=name)
        assert (recorded.notes, recorded.contact_id) == ("NPS 2", invitation.contact_id)
    _answer(client, invitation, 8, automatic=False)  # a passive: it goes, and only it
    with tenant_context(org):
        assert list(Touchpoint.objects.values_list("pk", flat=True)) == [other.pk]
    _answer(client, invitation, 0, automatic=False)  # a detractor again: recorded again
    with tenant_context(org):
        [again] = Touchpoint.objects.filter(external_id=name)
        assert (again.notes, again.sentiment) == ("NPS 0", Sentiment.NEGATIVE)


def test_it_updates_and_records_an_edit_within_seven_days(client, org, invitation):
    _answer(client, invitation, 4, automatic=True)
    with tenant_context(org):
        AnswerAttempt.objects.update(at=timezone.now() - timedelta(hours=1))
    _answer(client, invitation, 9, automatic=True)  # a later visit: never edits by itself
    assert [r.score for r in _responses(org)] == [4]
    _answer(client, invitation, 9, automatic=False, comment="Better now")
    [response] = _responses(org)
    with tenant_context(org):
        edits = list(ResponseEdit.objects.values_list("score", "comment"))
        assert Touchpoint.objects.count() == 0  # no longer a detractor
    assert (response.score, response.comment, edits) == (9, "Better now", [(4, "")])


def test_it_refuses_an_edit_after_seven_days_and_keeps_the_answer(client, org, invitation):
    _answer(client, invitation, 6, automatic=False)
    with tenant_context(org):
        Response.objects.update(responded_at=timezone.now() - timedelta(days=8))
    page = _answer(client, invitation, 10, automatic=False, comment="Changed my mind")
    assert page.status_code == 400
    assert "can no longer be changed" in page.content.decode()
    assert "Changed my mind" in page.content.decode()  # nothing typed is lost
    assert [r.score for r in _responses(org)] == [6]


def test_it_asks_the_follow_up_and_shows_the_comment_escaped(client, org, invitation):
    _answer(client, invitation, 9, automatic=True)
    thanks = client.get(_url(invitation, "public_surveys:thanks")).content.decode()
    assert "What is the main reason for your score?" in thanks
    _answer(client, invitation, 9, automatic=False, comment="<script>alert(1)</script> great")
    thanks = client.get(_url(invitation, "public_surveys:thanks")).content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt; great" in thanks
    assert "<script>alert" not in thanks
    [response] = _responses(org)
    assert response.comment == "<script>alert(1)</script> great"


@pytest.mark.parametrize(
    ("score", "message"),
    [
        (11, "Choose a score from 0 to 10."),
        (-1, "Choose a score from 0 to 10."),
        ("x", "Choose a score."),
    ],
)
def test_it_refuses_a_score_out_of_range(client, org, invitation, score, message):
    page = _answer(client, invitation, score, automatic=False)
    assert page.status_code == 400
    assert message in page.content.decode()
    assert _responses(org) == []


def test_it_refuses_a_very_long_comment_and_keeps_it_on_the_page(client, org, invitation):
    comment = "a" * (COMMENT_MAX_LENGTH + 1)
    page = _answer(client, invitation, 9, automatic=False, comment=comment)
    assert page.status_code == 400
    assert f"Keep the comment to {COMMENT_MAX_LENGTH} characters or fewer" in page.content.decode()
    assert comment in page.content.decode()
    assert _responses(org) == []


def test_it_answers_a_tampered_or_foreign_token_with_a_friendly_page(client, org, invitation):
    tampered = _token(invitation)[:-2] + "xx"
    assert client.get(reverse("public_surveys:answer", args=[tampered])).status_code == 404
    assert client.get(reverse("public_surveys:answer", args=["not-a-token"])).status_code == 404
    # An invitation of another organization, named under this organization's id.
    other = OrganizationFactory()
    with tenant_context(other):
        foreign = SurveyInvitationFactory()
    token = make_answer_token(organization_id=org.pk, invitation_id=foreign.pk)
    page = client.post(reverse("public_surveys:answer", args=[token]), {"score": 9})
    assert page.status_code == 410
    assert "no longer open" in page.content.decode()
    with tenant_context(other):
        assert not Response.objects.exists()


def test_it_answers_an_expired_token_with_a_friendly_page(
    client, org, invitation, settings, time_machine
):
    token = _token(invitation)
    ttl = timedelta(days=settings.SURVEY_LINK_TTL_DAYS)
    time_machine.move_to(timezone.now() + ttl + timedelta(seconds=60), tick=False)
    page = client.post(reverse("public_surveys:answer", args=[token]), {"score": 9})
    assert page.status_code == 410
    assert "expired" in page.content.decode()
    assert _responses(org) == []


@pytest.mark.parametrize(
    ("contact_locale", "org_locale", "expected"),
    [
        ("pt-br", "en", "Qual a probabilidade"),
        ("", "pt-br", "Qual a probabilidade"),
        ("en", "pt-br", "How likely"),
        ("xx", "", "How likely"),  # an unknown language falls back to English
    ],
)
def test_it_speaks_the_contacts_language(client, contact_locale, org_locale, expected):
    org = OrganizationFactory(default_locale=org_locale)
    with tenant_context(org):
        invitation = SurveyInvitationFactory(contact=ContactFactory(locale=contact_locale))
    page = client.get(_url(invitation) + "?score=9")
    assert expected in page.content.decode()


def test_it_unsubscribes_on_purpose_and_by_one_click_but_not_on_a_get(client, org, invitation):
    url = _url(invitation, "public_surveys:unsubscribe")
    assert client.get(url).status_code == 200
    with tenant_context(org):
        invitation.contact.refresh_from_db()
    assert invitation.contact.opted_out_at is None
    # RFC 8058: the mail client POSTs without any cookie or CSRF token.
    from django.test import Client

    one_click = Client(enforce_csrf_checks=True).post(url, {"List-Unsubscribe": "One-Click"})
    assert one_click.status_code == 200
    with tenant_context(org):
        invitation.contact.refresh_from_db()
    assert invitation.contact.opted_out_at is not None


def test_it_speaks_portuguese_around_the_question_too(client):
    org = OrganizationFactory(default_locale="en")
    with tenant_context(org):
        invitation = SurveyInvitationFactory(contact=ContactFactory(locale="pt-br"))
    page = client.get(_url(invitation) + "?score=2").content.decode()
    assert '<html lang="pt-br">' in page
    assert "Não receber mais pesquisas" in page
    assert "Extremamente provável" in page


def test_it_refuses_an_account_invitation_token_as_an_answer_link(client, org, invitation):
    from accounts.tokens import make_invitation_token

    token = make_invitation_token(organization_id=org.pk, invitation_id=invitation.pk)
    assert client.get(reverse("public_surveys:answer", args=[token])).status_code == 404


def test_it_asks_to_confirm_another_button_clicked_later(client, org, invitation):
    _answer(client, invitation, 0, automatic=True)
    with tenant_context(org):
        AnswerAttempt.objects.update(at=timezone.now() - timedelta(hours=2))
    page = _answer(client, invitation, 10, automatic=True)
    assert page.status_code == 200
    assert "Please confirm your answer" in page.content.decode()
    assert [r.score for r in _responses(org)] == [0]
    _answer(client, invitation, 10, automatic=False)
    assert [r.score for r in _responses(org)] == [10]


def test_it_unsubscribes_from_an_email_older_than_its_answer_links(
    client, org, invitation, time_machine
):
    url, answer = _url(invitation, "public_surveys:unsubscribe"), _url(invitation)
    time_machine.move_to(timezone.now() + timedelta(days=400), tick=False)
    assert client.get(answer).status_code == 410  # answering has expired
    assert client.post(url).status_code == 200  # opting out has not
    with tenant_context(org):
        invitation.contact.refresh_from_db()
    assert invitation.contact.opted_out_at is not None


def test_it_selects_in_a_query_exactly_the_answers_is_negative_calls_negative(org):
    """The back-test and the portfolio pages select negative answers in SQL: the same
    definition as the feedback signal's, on the score or on a score annotated then."""
    with tenant_context(org):
        expected = set()
        for kind in SurveyKind:
            for score in SCALES[kind]:
                response = ResponseFactory(kind=kind, score=score)
                if is_negative(kind, score):
                    expected.add(response.pk)
        answers = Response.objects.annotate(score_then=F("score"))
        assert set(answers.filter(negative_answers()).values_list("pk", flat=True)) == expected
        assert (
            set(answers.filter(negative_answers("score_then")).values_list("pk", flat=True))
            == expected
        )
    assert len(expected) == 7 + 2 + 3
