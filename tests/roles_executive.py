"""The URL catalogue's entries for the executive dashboard (see tests/url_catalogue.py)."""

from csplatform.tenancy import tenant_context
from dashboards.models import Benchmark
from dashboards.services import benchmarks_ensure

# url name -> (method, minimum role, status when allowed, POST data)
ORG_VIEWS: dict[str, tuple[str, str, int, dict | None]] = {
    "dashboards:executive": ("get", "viewer", 200, None),
    "dashboards:benchmarks": ("post", "admin", 302, None),  # data: needs the benchmarks' ids
    "dashboards:board_pack": ("get", "viewer", 200, None),  # the PDF, WeasyPrint
}


def benchmarks_post(benchmarks, **changes):
    """The benchmarks formset's POST data for `benchmarks` as they are (percentages as
    typed), with `changes` by metric: {"grr": {"label": "…", "low": "91"}}."""
    data = {
        "form-TOTAL_FORMS": str(len(benchmarks)),
        "form-INITIAL_FORMS": str(len(benchmarks)),
        "form-MIN_NUM_FORMS": "0",
        "form-MAX_NUM_FORMS": "1000",
    }
    for i, b in enumerate(benchmarks):
        row = {
            "id": b.pk,
            "label": b.label,
            "low": "" if b.low is None else round(b.low * 100, 2),
            "high": "" if b.high is None else round(b.high * 100, 2),
            "source": b.source,
            "year": b.year or "",
            "note": b.note,
            **changes.get(b.metric, {}),
        }
        data.update({f"form-{i}-{key}": value for key, value in row.items()})
    return data


def _grr_label(team):
    with tenant_context(team.organization):
        found = Benchmark.objects.filter(metric="grr").first()
        return None if found is None else found.label


# What each POST changes, read back from the database: True once it took effect.
EFFECTS: dict = {"dashboards:benchmarks": lambda team: _grr_label(team) == "GRR, our peers"}


def url_kwargs(name, team):
    """The URL's arguments besides org_slug (objects it needs are created here)."""
    return {}


def post_data(name, team, data):
    """The POST data, when it depends on objects created for the test."""
    if name == "dashboards:benchmarks":
        with tenant_context(team.organization):
            return benchmarks_post(benchmarks_ensure(), grr={"label": "GRR, our peers"})
    return data
