"""The shared fragments are inclusion tags (csplatform/templatetags/components.py,
dashboards/templatetags/dashboard_components.py) that render what the includes they
replace rendered; the pages use the tags, never the fragments' files."""

from pathlib import Path

from django import forms
from django.conf import settings
from django.template import Context, Template
from django.utils import translation

from dashboards.views.portfolio import SortHeader


def _render(source, **context):
    return Template(source).render(Context(context))


class _Form(forms.Form):
    name = forms.CharField(label="Name", help_text="As on the invoice.")


def test_it_renders_a_forms_fields_as_the_include_did():
    form = _Form({"name": ""})
    tag = _render("{% load components %}{% form_fields form %}", form=form)
    include = _render('{% include "form_fields.html" %}', form=form)
    assert tag == include
    assert 'id="id_name_helptext"' in tag
    assert "This field is required." in tag


def test_it_renders_the_chart_scripts_as_the_include_did():
    tag = _render("{% load components %}{% chart_scripts %}")
    assert tag == _render('{% include "chart_scripts.html" %}')
    assert "plotly/plotly.min" in tag


def test_it_renders_a_sort_header_with_the_lists_filters():
    header = SortHeader("MRR", "-mrr", "ascending")
    tag = _render(
        "{% load dashboard_components %}{% account_sort_header header numeric=True %}",
        header=header,
        list_url="/o/acme/accounts/",
        query="band=at_risk",
    )
    assert tag == (
        '<th scope="col" class="num" aria-sort="ascending"><a href="/o/acme/accounts/'
        '?band=at_risk&amp;sort=-mrr" hx-get="/o/acme/accounts/?band=at_risk&amp;sort=-mrr" '
        'hx-target="#account-table" hx-push-url="true">MRR</a></th>\n'
    )


def test_it_renders_a_definition_as_translate_shows_its_text():
    source = (
        '{% load i18n dashboard_components %}{% definition "definition-x" _("How it\'s done") '
        '_("Definition: docs/metrics.md (#x).") _("A < B, at most 100 %.") _("Then C.") %}'
    )
    page = _render(source)
    summary = _render('{% load i18n %}{% translate "How it\'s done" %}')
    first = _render('{% load i18n %}{% translate "A < B, at most 100 %." %}')
    assert '<details class="definition" id="definition-x">' in page
    assert f"<summary>{summary}</summary>" in page
    assert f"<p>{first}</p>" in page
    assert "<p>A < B, at most 100 %.</p>" in page  # as {% translate %} shows a literal
    assert page.index("Then C.") < page.index('<p class="muted">Definition: docs/metrics.md')


def test_it_renders_an_empty_state_with_its_action_only_when_given():
    source = (
        "{% load dashboard_components %}"
        '{% empty_state _("No data yet") _("It comes nightly.") action_url=url '
        'action_label=_("Configure") %}'
    )
    with_action = _render(source, url="/o/acme/settings/")
    assert "<h3>No data yet</h3>" in with_action
    assert "<p>It comes nightly.</p>" in with_action
    assert '<a class="btn btn-primary" href="/o/acme/settings/">Configure</a>' in with_action
    assert "<a" not in _render(source)  # no url: a viewer or a manager


def test_it_translates_a_components_text():
    source = '{% load dashboard_components %}{% empty_state _("No stage history yet") "x" %}'
    with translation.override("pt-br"):
        page = _render(source)
    assert "No stage history yet" not in page


def test_it_includes_no_shared_fragment_file_directly():
    fragments = ("form_fields.html", "chart_scripts.html", "components/")
    base = Path(settings.BASE_DIR)
    found = [
        str(path.relative_to(base))
        for pattern in ("templates/**/*.html", "*/templates/**/*.html")
        for path in base.glob(pattern)
        if ".venv" not in path.parts
        and any(
            f'include "{f}' in path.read_text() or f"dashboards/{f}" in path.read_text()
            for f in fragments
        )
    ]
    assert found == []


def test_it_escapes_a_components_text_from_a_variable():
    source = "{% load dashboard_components %}{% empty_state title text %}"
    page = _render(source, title="<b>Acme</b>", text="50 %% off")
    assert "<h3>&lt;b&gt;Acme&lt;/b&gt;</h3>" in page
