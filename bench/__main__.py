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
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "csplatform.settings")
    django.setup()
    from django.db import connection
    from django.test.utils import setup_test_environment

    setup_test_environment()  # the in-process test client, as in the test suite

    from bench import ingestion, tenancy

    settings_dict = connection.settings_dict
    settings_dict["TEST"]["NAME"] = "csplatform_bench"
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        results = {
            "tenancy": tenancy.run(quick=args.quick, progress=sys.stderr),
            "ingestion": ingestion.run(quick=args.quick, progress=sys.stderr),
        }
    finally:
        connection.creation.destroy_test_db("csplatform_bench", verbosity=0)
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
