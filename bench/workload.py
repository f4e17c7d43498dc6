"""The large demo workload (seed_demo --scale large), kept in a database of its own.

Generating it takes about 20 minutes, so it is built on the first run and reused
while it holds every organization of the scale; `--quick` runs seed three small
organizations into the throwaway benchmark database instead.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO

import psycopg
from django.core.management import call_command
from django.db import connection

from bench import demo


def admin_dsn(database: str) -> str:
    """An administrative connection (it reads across tenants, bypassing row-level security)."""
    url = os.environ.get("BENCH_ADMIN_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/")
    return url.rsplit("/", 1)[0] + "/" + database


@contextmanager
def large_workload(*, quick: bool, progress: IO[str]) -> Iterator[str]:
    """Point Django at a database holding the workload; yield its administrative DSN."""
    settings_dict = connection.settings_dict
    if quick:
        call_command("seed_demo", "--scale", "small", "--orgs", "3", stdout=progress)
        yield admin_dsn(settings_dict["NAME"])
        return
    name = os.environ.get("BENCH_LARGE_DATABASE", "csplatform_bench_large")
    previous = settings_dict["NAME"]
    with psycopg.connect(admin_dsn("postgres"), autocommit=True) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            progress.write(f"creating database {name} for the large workload\n")
            admin.execute(f'CREATE DATABASE "{name}" OWNER "{settings_dict["USER"]}"')
    connection.close()
    settings_dict["NAME"] = name
    try:
        call_command("migrate", verbosity=0)
        with psycopg.connect(admin_dsn(name)) as admin:
            row = admin.execute("SELECT count(*) FROM accounts_organization").fetchone()
        wanted = demo.SCALES["large"].organizations
        if row is None or row[0] < wanted:
            progress.write(
                f"generating the large workload in {name} (about 20 minutes, once; "
                "later runs reuse it)\n"
            )
            call_command("seed_demo", "--scale", "large", stdout=progress)
        yield admin_dsn(name)
    finally:
        connection.close()
        settings_dict["NAME"] = previous
