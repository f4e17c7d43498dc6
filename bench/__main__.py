"""Run every benchmark against a throwaway database and print their ratios as JSON.

    make bench            # or: python -m bench [--quick]

Each benchmark measures csplatform's path and a baseline in the same run, on
the same machine, so the ratios travel between machines where seconds do not.
"""

import argparse
import json
import os
import sys

import django


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--quick", action="store_true", help="Small data, for a smoke run.")
    parser.add_argument(
        "--only",
        choices=[
            "tenancy",
            "ingestion",
            "metrics",
            "surveys",
            "pages",
            "search",
            "export",
            "history",
        ],
        help="Run one benchmark, not all of them.",
    )
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "csplatform.settings")
    django.setup()
    from django.db import connection
    from django.test.utils import setup_test_environment

    setup_test_environment()  # the in-process test client, as in the test suite

    import redis
    from django.conf import settings

    from bench import export, history, ingestion, metrics, pages, search, surveys, tenancy
    from csplatform.celery import app as celery_app

    # Tasks the measured paths queue (the debounced roll-ups) go to a queue of their
    # own, which no worker reads and which is dropped at the end.
    celery_app.conf.task_default_queue = f"csplatform-bench-{os.getpid()}"

    settings_dict = connection.settings_dict
    # BENCH_DATABASE: another name, for a benchmark run beside another one.
    database = os.environ.get("BENCH_DATABASE", "csplatform_bench")
    settings_dict["TEST"]["NAME"] = database
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        benchmarks = {
            "tenancy": tenancy.run,
            "ingestion": ingestion.run,
            "metrics": metrics.run,
            "surveys": surveys.run,
            "pages": pages.run,
            "search": search.run,
            "export": export.run,
            "history": history.run,
        }
        results = {
            name: run(quick=args.quick, progress=sys.stderr)
            for name, run in benchmarks.items()
            if args.only in (None, name)
        }
    finally:
        connection.creation.destroy_test_db(database, verbosity=0)
        redis.Redis.from_url(settings.CELERY_BROKER_URL).delete(celery_app.conf.task_default_queue)
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
