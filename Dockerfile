# One image for every help desk process; docker-compose.yml picks the command (api, worker,
# migrate). Configuration comes only from the environment (see settings.py).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Only what the package is made of, so local state (.venv, .helpdesk-data) never reaches the image.
COPY pyproject.toml settings.py worker.py ./
COPY activities/ activities/
COPY adapters/ adapters/
COPY api/ api/
COPY cli/ cli/
COPY db/ db/
COPY domain/ domain/
COPY workflows/ workflows/
RUN pip install . && useradd --system --no-create-home helpdesk

USER helpdesk
EXPOSE 8000
ENTRYPOINT ["helpdesk"]
CMD ["api"]
