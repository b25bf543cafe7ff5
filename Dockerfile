# One image for every help desk process; docker-compose.yml picks the command (api, worker,
# migrate). Configuration comes only from the environment (see settings.py).
# Python 3.11 on Debian 12, the interpreter and platform requirements.lock is resolved for
# (scripts/lock.sh; tests/test_docker_image.py checks the two agree).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
# A container's loopback is unreachable from outside: the API listens on every interface of the
# container, and the published port decides who can reach it.
ENV HELPDESK_HOST=0.0.0.0

WORKDIR /app

# The dependencies first, exactly as locked (versions and hashes): this layer is rebuilt only
# when the lock changes.
COPY requirements.lock ./
RUN pip install --require-hashes --no-deps -r requirements.lock

# Only what the package is made of, so local state (.venv, .helpdesk-data) never reaches the
# image. tests/test_docker_image.py builds the package from exactly these files.
COPY pyproject.toml README.md LICENSE settings.py worker.py logs.py cores.py ./
COPY activities/ activities/
COPY adapters/ adapters/
COPY api/ api/
COPY cli/ cli/
COPY db/ db/
COPY domain/ domain/
COPY feeds/ feeds/
COPY services/ services/
COPY web/ web/
COPY workflows/ workflows/
# --no-deps: every dependency came from the lock; --no-build-isolation: built with the locked
# setuptools, not one fetched unpinned. pip check fails the build if the lock misses one.
RUN pip install --no-deps --no-build-isolation . \
    && pip check \
    && useradd --system --uid 10001 --no-create-home helpdesk

USER helpdesk
EXPOSE 8000
# The API's /healthz (slim has no curl). docker-compose.yml turns it off for the worker and the
# one-shot migration, which serve no HTTP.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as r; r.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('HELPDESK_PORT', '8000'), timeout=4)"]
ENTRYPOINT ["helpdesk"]
CMD ["api"]
