"""The managers' survey pages: results with n and margins, verbatims with search, response
rates, campaigns created and sent from the UI to a real SMTP server."""

import re
import time

import pytest
from django.urls import reverse

from accounts.models import Role
from csplatform.tenancy import tenant_context
from metrics.models import SatisfactionMetrics
from metrics.satisfaction import satisfaction_recompute
from surveys.models import Response
from surveys.services import response_record
from tests.factories import (
    ContactFactory,
    MembershipFactory,
    OrganizationFactory,
    SurveyInvitationFactory,
)


@pytest.fixture
def manager():
    membership = MembershipFactory(role=Role.MANAGER, user__language="pt-br")
    return membership


def _results(client, membership, **params):
    client.force_login(membership.user, backend="django.contrib.auth.backends.ModelBackend")
    url = reverse("surveys:results", kwargs={"org_slug": membership.organization.slug})
    return client.get(url, params)


@pytest.mark.django_db
def test_it_explains_what_to_do_before_any_response(client, manager):
    page = _results(client, manager).content.decode()
    assert "Nenhuma resposta deste tipo ainda" in page or "No responses of this kind yet" in page
    assert "Nenhuma campanha foi enviada ainda" in page or "No campaign has been sent" in page


@pytest.mark.django_db
def test_it_shows_nps_with_n_margin_and_shares_in_the_users_locale(client, manager):
    org = manager.organization
    with tenant_context(org):
        campaign = SurveyInvitationFactory().campaign
        answers = [(10, "Excelente <b>suporte</b>"), (9, ""), (7, ""), (2, "Lento")] * 10
        for score, comment in answers:  # 40: enough for a margin
            invitation = SurveyInvitationFactory(campaign=campaign)
            response_record(invitation=invitation, score=score, comment=comment, automatic=False)
        satisfaction_recompute()
    page = _results(client, manager).content.decode()
    # NPS (20 − 10) ÷ 40 = 25; margin 1.96 · √((0.5 + 0.25 − 0.0625) ÷ 40) × 100 = 25.70
    assert re.search(r"<strong>25</strong>\s*<span class=\"muted\">± 25,7</span>", page)
    assert "40 respostas" in page
    assert "Promotores 50 % · neutros 25 % · detratores 25 %" in page
    assert "Excelente &lt;b&gt;suporte&lt;/b&gt;" in page  # verbatims escaped
    assert "<b>suporte</b>" not in page
    assert "<td>41</td><td>40</td><td>97,6 %</td>" in page  # 41 sent, 40 answered


@pytest.mark.django_db
@pytest.mark.parametrize(("kind", "score"), [("nps", 10), ("csat", 5), ("ces", 7)])
def test_it_says_too_few_answers_where_a_margin_would_rest_on_one_answer(
    client, manager, kind, score
):
    org = manager.organization
    with tenant_context(org):
        invitation = SurveyInvitationFactory(campaign__survey__kind=kind)
        response_record(invitation=invitation, score=score, automatic=False)
        satisfaction_recompute()
    page = _results(client, manager, kind=kind).content.decode()
    assert "1 resposta" in page
    assert not re.search(r"±\s*\d", page)  # no "± 0,0"
    assert "poucas respostas para uma margem" in page  # the headline, in the user's language
    assert '<td class="muted">poucas respostas</td>' in page  # the month's row


@pytest.mark.django_db
def test_it_searches_the_verbatims_in_place(client, manager):
    org = manager.organization
    with tenant_context(org):
        for comment in ("Faltou treinamento", "Ótimo produto"):
            response_record(
                invitation=SurveyInvitationFactory(), score=8, comment=comment, automatic=False
            )
    client.force_login(manager.user, backend="django.contrib.auth.backends.ModelBackend")
    url = reverse("surveys:results", kwargs={"org_slug": org.slug})
    partial = client.get(url, {"q": "treinamento"}, HTTP_HX_REQUEST="true").content.decode()
    assert "Faltou treinamento" in partial
    assert "Ótimo produto" not in partial
    assert "<html" not in partial  # only the list is swapped
    none = client.get(url, {"q": "preço"}, HTTP_HX_REQUEST="true").content.decode()
    assert "preço" in none  # "no comment contains …"


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_it_sends_a_campaign_created_in_the_ui_and_shows_the_answer_with_its_margin(
    celery_worker_process, inbox, client, settings
):
    settings.METRICS_RECOMPUTE_DELAY_SECONDS = 0
    admin = MembershipFactory(role=Role.ADMIN, organization=OrganizationFactory(slug="acme"))
    org = admin.organization
    with tenant_context(org):
        ContactFactory(email="ana@cliente.example", locale="en")
    client.force_login(admin.user, backend="django.contrib.auth.backends.ModelBackend")
    base = f"/o/{org.slug}/surveys/campaigns/"
    assert (
        client.post(
            base + "surveys/",
            {
                "survey-name": "Relationship NPS",
                "survey-kind": "nps",
                "survey-question_en": "How likely are you to recommend Acme?",
                "survey-question_pt_br": "Qual a probabilidade de você recomendar a Acme?",
            },
        ).status_code
        == 302
    )
    page = client.get(base).content.decode()
    survey_id = re.search(r'<option value="(\d+)">Relationship NPS</option>', page).group(1)
    assert (
        client.post(
            base + "new/", {"campaign-survey": survey_id, "campaign-name": "Q4"}
        ).status_code
        == 302
    )
    campaign_id = re.search(r"/campaigns/(\d+)/preview/", client.get(base).content.decode()).group(
        1
    )
    preview = client.get(base + f"{campaign_id}/preview/").content.decode()
    assert "1 contact will be emailed" in preview
    fingerprint = re.search(r'name="fingerprint" value="(\w+)"', preview).group(1)
    sent = client.post(base + f"{campaign_id}/send/", {"fingerprint": fingerprint}, follow=True)
    assert "Sending “Q4” to 1 contacts." in sent.content.decode()

    [message] = inbox.wait_for(1)
    text = next(p for p in message.walk() if p.get_content_type() == "text/plain")
    link = re.search(r"^9: https?://[^/\s]+(/s/\S+)", text.get_payload(decode=True).decode(), re.M)
    answer = link.group(1).split("?")[0]
    client.get(link.group(1))
    client.post(answer, {"score": 9, "automatic": "1"})
    with tenant_context(org):
        assert [r.score for r in Response.objects.all()] == [9]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with tenant_context(org):
            if SatisfactionMetrics.objects.filter(kind="nps").exists():
                break
        time.sleep(0.1)
    results = client.get(f"/o/{org.slug}/surveys/").content.decode()
    assert "<strong>100</strong>" in results
    assert "too few answers for a margin" in results  # one answer: no margin
    assert "1 response" in results


@pytest.mark.django_db
def test_it_explains_a_duplicate_survey_name_and_a_repeat_without_a_start(client):
    admin = MembershipFactory(role=Role.ADMIN)
    client.force_login(admin.user, backend="django.contrib.auth.backends.ModelBackend")
    base = f"/o/{admin.organization.slug}/surveys/campaigns/"
    survey = {
        "survey-name": "NPS",
        "survey-kind": "nps",
        "survey-question_en": "Recommend us?",
        "survey-question_pt_br": "Recomendaria?",
    }
    assert client.post(base + "surveys/", survey).status_code == 302
    again = client.post(base + "surveys/", survey)
    assert again.status_code == 400
    assert "A survey named “NPS” exists already." in again.content.decode()
    with tenant_context(admin.organization):
        from surveys.models import Survey

        survey_id = Survey.objects.get().pk
    page = client.post(
        base + "new/",
        {"campaign-survey": survey_id, "campaign-name": "Q", "campaign-repeat_every_days": 90},
    )
    assert page.status_code == 400
    assert "A repeating campaign needs its first send date." in page.content.decode()


@pytest.mark.django_db
def test_it_answers_404_for_another_organizations_campaign(client):
    from tests.factories import CampaignFactory

    admin = MembershipFactory(role=Role.ADMIN)
    other = OrganizationFactory()
    with tenant_context(other):
        ContactFactory()
        foreign = CampaignFactory()
    client.force_login(admin.user, backend="django.contrib.auth.backends.ModelBackend")
    url = f"/o/{admin.organization.slug}/surveys/campaigns/{foreign.pk}/send/"
    assert client.post(url).status_code == 404
    with tenant_context(other):
        from surveys.models import SurveyInvitation

        assert not SurveyInvitation.objects.exists()
