"""The benchmarks keep running: a quick pass over small data (the numbers are make bench's job)."""

import io

import pytest

from bench import tenancy


@pytest.mark.django_db
def test_it_measures_the_cost_of_row_level_security_against_a_plain_table():
    progress = io.StringIO()
    result = tenancy.run(quick=True, progress=progress)
    assert result["rows"] == 10 * 500
    assert result["rls_query_ratio"] > 0
    assert result["unit_of_work_ratio"] > 0
    assert "seeded 10/10 organizations" in progress.getvalue()


@pytest.mark.django_db(transaction=True)
def test_it_measures_event_ingestion_against_raw_copy():
    from bench import ingestion

    progress = io.StringIO()
    result = ingestion.run(quick=True, progress=progress)
    for workload in ("recent", "backfill"):
        assert result[workload]["rows"] == 5_000
        assert result[workload]["api_ratio"] > 0
        assert result[workload]["csv_ratio"] > 0


@pytest.mark.django_db(transaction=True)
def test_it_measures_metrics_recomputes_against_one_aggregating_scan():
    from bench import metrics

    progress = io.StringIO()
    result = metrics.run(quick=True, progress=progress)
    assert result["organizations"] == 3
    spread, concentrated = result["incremental"]["spread"], result["incremental"]["concentrated"]
    assert spread["organizations_recomputed"] == 3
    assert concentrated["organizations_recomputed"] == 1
    assert spread["changed_accounts"] >= 3
    assert result["full_to_scan_ratio"] > 0
    assert result["incremental_to_full_ratio"] > 0
    assert result["health_customers"] > 0
    assert result["full_and_health_to_scan_ratio"] > result["full_to_scan_ratio"]
    assert "incremental (spread)" in progress.getvalue()
    assert "health snapshot" in progress.getvalue()


@pytest.mark.django_db(transaction=True)
def test_it_times_the_dashboards_against_a_trivial_view():
    from bench import pages

    progress = io.StringIO()
    result = pages.run(quick=True, progress=progress)
    assert result["baseline"]["median_ms"] > 0
    assert set(result["pages"]) == {"home", "accounts", "accounts_at_risk", "executive"}
    assert all(page["ratio"] > 0 for page in result["pages"].values())
    assert "executive" in progress.getvalue()


@pytest.mark.django_db(transaction=True)
def test_it_times_search_against_a_trivial_view():
    from bench import search

    progress = io.StringIO()
    result = search.run(quick=True, progress=progress)
    assert set(result["queries"]) == {"prefix", "accented", "typo", "email"}
    assert set(result["paths"]) == {"typeahead", "results", "selector"}
    assert all(path["all"]["ratio"] > 0 for path in result["paths"].values())
    assert result["median_ms_target"] == 50.0
    assert "typeahead" in progress.getvalue()


@pytest.mark.django_db(transaction=True)
def test_it_measures_the_export_against_a_plain_copy_of_its_tables():
    from bench import export

    progress = io.StringIO()
    result = export.run(quick=True, progress=progress)
    assert result["usage_events"] == 50_000
    assert result["tables"] >= 20
    assert result["export_ratio"] > 0
    assert result["download_ratio"] > 0
    assert result["zip_bytes"] > 0
    assert "with 50000 usage events" in progress.getvalue()


@pytest.mark.django_db(transaction=True)
def test_it_measures_the_nightly_health_recompute_during_a_backfill():
    from bench import history

    progress = io.StringIO()
    result = history.run(quick=True, progress=progress)
    assert result["days"] > 90
    assert result["backfill_seconds"] > 0
    assert result["nightly_seconds"] > 0
    assert result["nightly_during_backfill_runs"] >= 1
    assert result["nightly_during_backfill_ratio"] > 0
    assert "during the backfill" in progress.getvalue()
