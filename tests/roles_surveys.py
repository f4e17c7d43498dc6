"""The URL catalogue's entries for the survey pages (see tests/url_catalogue.py)."""

from csplatform.tenancy import tenant_context
from surveys import campaign_services
from surveys.models import Campaign, Survey, SurveyInvitation
from tests.factories import CampaignFactory, ContactFactory, SurveyFactory

# url name -> (method, minimum role, status when allowed, POST data)
ORG_VIEWS: dict[str, tuple[str, str, int, dict | None]] = {
    "surveys:results": ("get", "manager", 200, None),
    "surveys:campaigns": ("get", "admin", 200, None),
    "surveys:survey_create": (
        "post",
        "admin",
        302,
        {
            "survey-name": "Support CSAT",
            "survey-kind": "csat",
            "survey-question_en": "How satisfied are you with our support?",
            "survey-question_pt_br": "Qual a sua satisfação com o nosso suporte?",
            "survey-touchpoint": "support",
        },
    ),
    "surveys:campaign_create": ("post", "admin", 302, None),  # data: needs the survey's id
    "surveys:campaign_preview": ("get", "admin", 200, None),
    "surveys:campaign_send": ("post", "admin", 302, None),  # data: the preview's fingerprint
}


def _exists(team, model, **lookup):
    with tenant_context(team.organization):
        return model.objects.filter(**lookup).exists()


# What each POST changes, read back from the database: True once it took effect.
EFFECTS: dict = {
    "surveys:survey_create": lambda team: _exists(team, Survey, name="Support CSAT"),
    "surveys:campaign_create": lambda team: _exists(team, Campaign, name="Q4 NPS"),
    "surveys:campaign_send": lambda team: _exists(team, SurveyInvitation),
}


def url_kwargs(name, team):
    """The URL's arguments besides org_slug (objects it needs are created here)."""
    if name in {"surveys:campaign_send", "surveys:campaign_preview"}:
        with tenant_context(team.organization):
            ContactFactory()
            return {"campaign_id": CampaignFactory().pk}
    return {}


def post_data(name, team, data):
    """The POST data, when it depends on objects created for the test."""
    if name == "surveys:campaign_create":
        with tenant_context(team.organization):
            survey = SurveyFactory()
        return {"campaign-survey": survey.pk, "campaign-name": "Q4 NPS"}
    if name == "surveys:campaign_send":  # confirms the preview of the campaign just made
        with tenant_context(team.organization):
            campaign = Campaign.objects.latest("pk")
            return {
                "fingerprint": campaign_services.campaign_preview(campaign=campaign).fingerprint
            }
    return data
