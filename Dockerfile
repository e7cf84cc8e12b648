# sightings API (wildlife photo-ID and the other solutions). Offline at run time: mount the models directory.
#   docker build -t sightings .
#   docker run -p 8000:8000 -v $HOME/.local/share/sightings/models:/models:ro -e SIGHTINGS_WILDLIFE__API_KEYS='["change-me"]' sightings
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    SIGHTINGS_DATA_DIR=/data SIGHTINGS_MODELS_DIR=/models

RUN apt-get update \
 && apt-get install -y --no-install-recommends libgl1 libglib2.0-0 \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install ".[vision,identity,postgres]"
COPY deploy/entrypoint.sh /usr/local/bin/sightings-entrypoint

RUN useradd --create-home --uid 10001 sightings && mkdir -p /data /models && chown sightings /data
USER sightings
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health')"
ENTRYPOINT ["sightings-entrypoint"]
CMD ["serve"]
