FROM python:3.12-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
WORKDIR /srv

FROM base AS builder
RUN apt-get update && apt-get install -y --no-install-recommends build-essential \
 && rm -rf /var/lib/apt/lists/*
COPY requirements.txt .
RUN pip wheel --wheel-dir /wheels -r requirements.txt

FROM base
LABEL org.opencontainers.image.title="api" \
      org.opencontainers.image.source="https://example.com/api"
COPY --from=builder /wheels /wheels
RUN pip install --no-cache /wheels/* && rm -rf /wheels
COPY app/ ./app/
RUN <<-EOT bash
	set -eu
	useradd --system app
	chown -R app /srv
	EOT
USER app
STOPSIGNAL SIGINT
CMD exec gunicorn -b 0.0.0.0:${PORT:-8000} app.main:app
