# csplatform — production image.
# Build:  docker build -t csplatform .
# Run:    see docker-compose.yml (web, worker and beat all use this image).
FROM python:3.13-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/opt/venv \
    UV_LINK_MODE=copy \
    UV_COMPILE_BYTECODE=1 \
    PATH=/opt/venv/bin:$PATH

# gettext: compilemessages (msgfmt). libpq5: runtime client library (psycopg[binary] needs no build tools).
# Pango, HarfBuzz's subsetter and a font: WeasyPrint renders the board pack's PDF (web and worker).
RUN apt-get update \
    && apt-get install -y --no-install-recommends gettext libpq5 \
       libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*

RUN pip install uv

WORKDIR /app

# Dependencies first, so this layer is cached until the lock file changes.
COPY pyproject.toml uv.lock .python-version ./
RUN uv sync --frozen --no-dev

COPY . .

# Build-time only: settings demand SECRET_KEY unless DEBUG is on; neither step touches the database.
RUN DEBUG=1 python manage.py compilemessages \
    && DEBUG=1 python manage.py collectstatic --noinput

RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /app --no-create-home --shell /usr/sbin/nologin app
USER app

EXPOSE 8000

CMD ["gunicorn", "csplatform.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "2"]
