"""Finding an account (issue 18): the selector, the results page, the type-ahead
fragment, the indexes behind them, and a keyboard-only search in a browser."""

import re
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts import search
from accounts.models import Account, Contact
from accounts.search import MAX_QUERY_CHARS, account_search, search_query_clean
from csplatform.tenancy import tenant_context
from tests.factories import AccountFactory, ContactFactory, OrganizationFactory

pytestmark = pytest.mark.django_db


def _names(query, limit=None):
    return [a.name for a in account_search(query, limit)]


@pytest.fixture
def customers(team):
    """A few customers of the team's organization, with accents, a shared word, and
    contacts."""
    with tenant_context(team.organization):
        sao = AccountFactory(name="São Paulo Logística", external_id="CRM-1001")
        acme = AccountFactory(name="Acme Corporation", external_id="CRM-2002")
        AccountFactory(name="Padaria Aurora", external_id="CRM-3003")
        AccountFactory(name="Aurora Labs", external_id="CRM-4004")
        bakery = AccountFactory(name="Cedar Foods", external_id="CRM-5005")
        ContactFactory(account=bakery, name="João Silva", email="joao.silva@cedar.example")
        ContactFactory(account=acme, name="Wile Coyote", email="wile@acme.example")
    return {"sao": sao, "acme": acme, "bakery": bakery}


def _search(team, query):
    with tenant_context(team.organization):
        return _names(query)


def test_it_finds_an_account_without_its_accents(team, customers):
    assert _search(team, "sao paulo") == ["São Paulo Logística"]
    assert _search(team, "LOGISTICA") == ["São Paulo Logística"]


def test_it_finds_an_account_despite_a_typo(team, customers):
    assert _search(team, "acme corporaton")[0] == "Acme Corporation"


def test_it_finds_an_account_by_its_first_three_letters(team, customers):
    assert _search(team, "ced") == ["Cedar Foods"]


def test_it_finds_an_account_by_its_external_id(team, customers):
    assert _search(team, "crm-2002") == ["Acme Corporation"]
    assert _search(team, "CRM-20")[0] == "Acme Corporation"


def test_it_finds_an_account_by_a_contacts_name_and_says_which(team, customers):
    with tenant_context(team.organization):
        found = list(account_search("joao"))
    assert [a.name for a in found] == ["Cedar Foods"]
    assert found[0].matched_contact.name == "João Silva"


def test_it_finds_an_account_by_a_contacts_email(team, customers):
    with tenant_context(team.organization):
        found = list(account_search("wile@acme.example"))
    assert [a.name for a in found] == ["Acme Corporation"]
    assert found[0].matched_contact.email == "wile@acme.example"


def test_it_matches_an_emails_domain_only_when_asked_with_an_at_sign(team, customers):
    assert _search(team, "example") == []  # in every email: no match
    assert _search(team, "@acme.exa") == ["Acme Corporation"]
    assert _search(team, "wile@") == ["Acme Corporation"]


def test_it_ranks_an_exact_name_then_a_prefix_then_other_matches(team, customers):
    with tenant_context(team.organization):
        AccountFactory(name="Aurora")
        AccountFactory(name="Boa Vista Auroral")
    # exact, then prefixes (by similarity, then name), then a word elsewhere in the name
    assert _search(team, "aurora") == [
        "Aurora",
        "Aurora Labs",
        "Padaria Aurora",
        "Boa Vista Auroral",
    ]


def test_it_ranks_an_accounts_own_match_before_a_contacts(team, customers):
    with tenant_context(team.organization):
        AccountFactory(name="Silva Transportes")
    assert _search(team, "silva") == ["Silva Transportes", "Cedar Foods"]


def test_it_limits_the_type_ahead(team):
    with tenant_context(team.organization):
        for n in range(12):
            AccountFactory(name=f"Horizonte {n:02d}")
        assert len(_names("horiz", limit=8)) == 8
        assert len(_names("horiz")) == 12


def test_it_never_finds_another_organizations_accounts(team, customers):
    other = OrganizationFactory()
    with tenant_context(other):
        twin = AccountFactory(name="São Paulo Logística", external_id="CRM-1001")
        ContactFactory(account=twin, name="João Silva", email="joao.silva@cedar.example")
    with tenant_context(team.organization):
        found = list(account_search("sao paulo")) + list(account_search("joao"))
    assert twin.pk not in {a.pk for a in found}
    assert {a.organization_id for a in found} == {team.organization.pk}


def test_it_finds_nothing_for_an_empty_or_one_letter_query(team, customers):
    assert _search(team, "") == []
    assert _search(team, "   ") == []
    assert _search(team, "a") == []
    assert _search(team, "%%%") == []


def test_it_cuts_a_ten_thousand_character_query(team, customers):
    query = "acme " * 2_000
    cleaned = search_query_clean(query)
    assert cleaned.was_cut
    assert len(cleaned.text) <= MAX_QUERY_CHARS
    assert cleaned.text.startswith("acme acme")
    assert _search(team, query) == ["Acme Corporation"]  # searched with its first words


@pytest.mark.parametrize("query", ["%", "_%", "&|!():*'\\", "(a|b):*", "\\x", "' OR 1=1 --"])
def test_it_treats_metacharacters_as_text(team, customers, query):
    """LIKE's wildcards and tsquery's operators are text: no error, no match-everything."""
    assert _search(team, query) == []


@pytest.mark.parametrize("query", ["acme & !co", "acme:*|", "(acme)", "acme'"])
def test_it_searches_the_words_around_metacharacters(team, customers, query):
    assert _search(team, query) == ["Acme Corporation"]


def test_it_matches_a_wildcard_character_literally(team):
    with tenant_context(team.organization):
        AccountFactory(name="abracadabrayz")
        AccountFactory(name="abxyz")
        AccountFactory(name="ab%yz tools")
        assert _names("ab%yz") == ["ab%yz tools"]  # not "ab, anything, yz"
        assert "abxyz" not in _names("ab_yz")  # not "ab, one character, yz"


# --- the results page and the type-ahead -------------------------------------------


def _url(team, query=None, **params):
    url = reverse("dashboards:search", kwargs={"org_slug": team.organization.slug})
    if query is not None:
        params["q"] = query
    return url + ("?" + urlencode(params) if params else "")


def _account_url(team, account):
    return reverse(
        "dashboards:account", kwargs={"org_slug": team.organization.slug, "account_id": account.pk}
    )


def test_it_shows_results_on_a_plain_get_page_without_javascript(team, customers, signed_in):
    response = signed_in(team.manager).get(_url(team, "joao"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" in html
    assert f'href="{_account_url(team, customers["bakery"])}"' in html
    assert "Cedar Foods" in html
    assert "CRM-5005" in html
    assert "Contact: João Silva (joao.silva@cedar.example)" in html


def test_it_answers_the_type_ahead_with_options_only(team, signed_in):
    with tenant_context(team.organization):
        accounts = [AccountFactory(name=f"Horizonte {n:02d}") for n in range(12)]
    response = signed_in(team.manager).get(_url(team, "hor"), HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert html.count('role="option"') == 8 + 1  # eight accounts, then "All results"
    assert f'href="{_account_url(team, accounts[0])}"' in html
    assert 'id="header-search-option-all"' in html
    assert "HX-Request" in response["Vary"]


def test_it_prompts_for_an_empty_query(team, customers, signed_in):
    html = signed_in(team.manager).get(_url(team)).content.decode()
    assert "What are you looking for?" in html
    assert 'class="search-results"' not in html
    html = signed_in(team.manager).get(_url(team, "  "), HTTP_HX_REQUEST="true").content.decode()
    assert 'role="option"' not in html


def test_it_says_no_account_matches_and_suggests_fewer_letters(team, customers, signed_in):
    html = signed_in(team.manager).get(_url(team, "zzqqxx")).content.decode()
    assert "No account matches “zzqqxx”" in html
    assert "Try fewer letters" in html


def test_it_answers_a_ten_thousand_character_query(team, customers, signed_in):
    response = signed_in(team.manager).get(_url(team, "x" * 10_000))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Only the first 200 characters were searched." in html
    assert f'name="q" value="{"x" * 200}"' in html


def test_it_pages_the_results(team, signed_in):
    with tenant_context(team.organization):
        for n in range(25):
            AccountFactory(name=f"Serra {n:02d}")
    client = signed_in(team.manager)
    first = client.get(_url(team, "serra")).content.decode()
    second = client.get(_url(team, "serra", page=2)).content.decode()
    assert "25 accounts match “serra”" in first
    assert first.count('class="search-result"') == 20
    assert second.count('class="search-result"') == 5
    assert "Page 2 of 2" in second


def test_it_never_shows_another_organizations_accounts(team, customers, signed_in):
    other = OrganizationFactory()
    with tenant_context(other):
        twin = AccountFactory(name="Cedar Foods Twin", external_id="CRM-5005")
        ContactFactory(account=twin, name="João Silva", email="joao.silva@cedar.example")
    client = signed_in(team.manager)
    for query in ("cedar", "joao", "crm-5005"):
        page = client.get(_url(team, query)).content.decode()
        options = client.get(_url(team, query), HTTP_HX_REQUEST="true").content.decode()
        for html in (page, options):
            assert "Cedar Foods" in html
            assert "Twin" not in html
            assert f"/accounts/{twin.pk}/" not in html


def test_it_shows_the_box_to_a_manager_and_hides_it_from_a_viewer(team, customers, signed_in):
    client = signed_in(team.manager)
    home = client.get(reverse("dashboards:accounts", kwargs={"org_slug": team.organization.slug}))
    assert 'id="header-search-input"' in home.content.decode()
    assert "js/search." in home.content.decode()
    client = signed_in(team.viewer)
    executive = client.get(
        reverse("dashboards:executive", kwargs={"org_slug": team.organization.slug})
    )
    assert 'id="header-search-input"' not in executive.content.decode()
    assert client.get(_url(team, "cedar")).status_code == 403


def test_it_reads_a_page_in_a_fixed_number_of_queries(team, signed_in):
    client = signed_in(team.manager)

    def queries_for(name, count):
        with tenant_context(team.organization):
            for n in range(count):
                account = AccountFactory(name=f"{name} {n:02d}")
                ContactFactory(account=account, name=f"{name} Person {n}")
        client.get(_url(team, name))  # warm the session
        with CaptureQueriesContext(connection) as queries:
            assert client.get(_url(team, name)).status_code == 200
        return len(queries)

    assert queries_for("Pampa", 3) == queries_for("Cerrado", 20)


def test_it_speaks_portuguese(team, customers, signed_in):
    client = signed_in(team.manager)
    html = client.get(_url(team, "zzqqxx"), HTTP_ACCEPT_LANGUAGE="pt-br").content.decode()
    assert "Nenhuma conta corresponde a “zzqqxx”" in html


# --- the indexes ---------------------------------------------------------------------


def _plan(sql, params):
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.mark.parametrize("query", ["padaria", "sao paulo", "crm-00", "padria aurora"])
def test_it_reads_only_the_organizations_rows_through_an_index(team, query):
    """On tables big enough that reading them whole would be the slow path, each
    search reads the organization's rows through an index that leads with it, never a
    whole table. (Row-level security forbids the planner to run LIKE, `%>` or `@@`,
    which are not leakproof, inside an index scan for the application's role: the
    GIN indexes serve only reads without row-level security; docs/search.md.)"""
    organization = team.organization
    for org in (organization, *(OrganizationFactory() for _ in range(9))):
        with tenant_context(org):
            accounts = Account.objects.bulk_create(
                Account(name=f"Padaria {n} Serviços", external_id=f"CRM-{org.pk}-{n:05d}")
                for n in range(1_000)
            )
            Contact.objects.bulk_create(
                Contact(account=a, name=f"Pessoa {a.pk}", email=f"p{a.pk}@x{org.pk}.example")
                for a in accounts
            )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE accounts_account")
        cursor.execute("ANALYZE accounts_contact")
    with tenant_context(organization):
        folded = search._folded(query)
        plans = [
            _plan(
                *search._direct_hits(folded, search._prefix_tsquery(folded)).query.sql_with_params()
            )
        ]
        plans.append(_plan(*search._similar_hits(folded).query.sql_with_params()))
    for plan in plans:
        assert "Seq Scan" not in plan, plan
        assert re.search(r"Index Scan on (account|contact)_org_\w+", plan), plan


def test_it_indexes_the_folded_columns():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes "
            "WHERE tablename IN ('accounts_account', 'accounts_contact') AND indexdef LIKE %s",
            ["%USING gin%"],
        )
        indexes = dict(cursor.fetchall())
    assert "gin_trgm_ops" in indexes["account_name_trgm_idx"]
    assert "search_code gin_trgm_ops" in indexes["account_external_id_trgm_idx"]
    assert "search_words" in indexes["account_name_words_idx"]
    assert "search_email gin_trgm_ops" in indexes["contact_email_trgm_idx"]
    assert "search_words" in indexes["contact_name_words_idx"]


# --- the keyboard, in a browser ------------------------------------------------------


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("width", [1440, 390])
def test_it_opens_an_account_from_the_keyboard(live_server, settings, width):
    from tests.factories import PASSWORD, MembershipFactory
    from tests.test_browser_dashboards import _shot
    from tests.test_survey_browser import _browser_page

    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    membership = MembershipFactory()
    organization = membership.organization
    with tenant_context(organization):
        AccountFactory(name="Jacarandá Tech")
        wanted = AccountFactory(name="Jacarandá Varejo")
        AccountFactory(name="Cerrado Foods")
    base = live_server.url
    with _browser_page() as page:
        page.goto(base + "/accounts/login/")
        page.fill("input[name=username]", membership.user.email)
        page.fill("input[name=password]", PASSWORD)
        page.click("form button[type=submit]")
        page.wait_for_url(re.compile(r".*/o/.*"))
        page.set_viewport_size({"width": width, "height": 844 if width < 800 else 900})
        page.goto(f"{base}/o/{organization.slug}/accounts/")
        page.locator("body").press("/")
        box = page.locator("#header-search-input")
        assert box.evaluate("element => element === document.activeElement")
        page.keyboard.type("jac")
        page.wait_for_selector("#header-search-listbox [role=option]")
        assert box.get_attribute("aria-expanded") == "true"
        page.keyboard.press("ArrowDown")
        page.keyboard.press("ArrowDown")
        assert box.get_attribute("aria-activedescendant") == "header-search-option-2"
        _shot(page, f"search-typeahead-{width}")
        # The header fits the screen: no horizontal page scroll.
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(rf".*/accounts/{wanted.pk}/$"))
        assert "Jacarandá Varejo" in page.locator("h1").inner_text()
