# fedgroup in a container: one group per container, its data in the /data volume.
#   docker build -t fedgroup .
#   docker run -d -p 127.0.0.1:8080:8080 -v fedgroup-water:/data -e FEDGROUP_BASE_URL=https://water.example fedgroup
# Settings come from FEDGROUP_* variables (README, "Settings"); deploy/compose.yaml puts Caddy in front.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    FEDGROUP_DATA_DIR=/data

WORKDIR /src
COPY pyproject.toml README.md ./
COPY fedgroup ./fedgroup
RUN pip install . && rm -rf /src \
    && useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin fedgroup \
    && mkdir -p /data && chown fedgroup:fedgroup /data && chmod 700 /data

USER fedgroup
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8080

# /healthz answers ok when the server and its database respond (slim images have no curl).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('FEDGROUP_LISTEN_PORT', '8080') + '/healthz', timeout=4)"]

# SIGTERM (docker stop) finishes requests under way; unsent deliveries stay queued for the next start.
STOPSIGNAL SIGTERM
CMD ["fedgroup", "serve", "--host", "0.0.0.0"]
