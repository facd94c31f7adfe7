# A slim image that migrates the database and serves the API as a non-root user.
#   docker build -t voucher .
#   docker run -p 8000:8000 -e VOUCHER_DATABASE_URL=postgresql+psycopg://... \
#              -e VOUCHER_ADMIN_TOKEN=... -e VOUCHER_ENVIRONMENT=production voucher
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    TZ=Asia/Shanghai

RUN groupadd --system voucher && useradd --system --gid voucher --home-dir /srv/voucher voucher

WORKDIR /srv/voucher
COPY pyproject.toml README.md alembic.ini ./
COPY app ./app
COPY migrations ./migrations
COPY openapi ./openapi
# Editable, so that alembic.ini and migrations/ stay beside the code the app imports.
RUN pip install -e . \
    && mkdir -p /srv/voucher/var \
    && chown -R voucher:voucher /srv/voucher/var

USER voucher
ENV VOUCHER_DATABASE_URL=sqlite:////srv/voucher/var/voucher.db \
    VOUCHER_EVIDENCE__STORAGE_DIR=/srv/voucher/var/evidence
# The data that must outlive the container: the SQLite file (when used) and the evidence files.
VOLUME ["/srv/voucher/var"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz')"
CMD ["sh", "-c", "voucher migrate && exec uvicorn app.main:app --host 0.0.0.0 --port 8000 --proxy-headers"]
