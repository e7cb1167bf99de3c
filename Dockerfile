# mediabot: one image for the bot, the workers and the migrations.
# Build:  docker build -t mediabot .      Lint:  hadolint Dockerfile (the tests run it)

# -- build: the package and its dependencies in a virtualenv (no compilers left behind) --
FROM python:3.12-slim-bookworm AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
RUN python -m venv /opt/mediabot
COPY pyproject.toml setup.py README.md LICENSE ./
COPY src ./src
# The wheel carries the compiled catalogs; deno (yt-dlp's JavaScript runtime for YouTube)
# comes from PyPI as a dependency, into the same virtualenv.
RUN /opt/mediabot/bin/pip install . \
    && /opt/mediabot/bin/deno --version

# -- runtime: Python, ffmpeg and the virtualenv; runs as an unprivileged user --
FROM python:3.12-slim-bookworm

# Debian's security updates replace package versions, so ffmpeg is not pinned to one.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ffmpeg ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 mediabot \
    && mkdir -p /data \
    && chown mediabot:mediabot /data

COPY --from=build /opt/mediabot /opt/mediabot

ENV PATH=/opt/mediabot/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DATA_DIR=/data

USER 10001:10001
WORKDIR /data
VOLUME ["/data"]

# The database (its schema current) and the broker, when one is configured, answer.
HEALTHCHECK --interval=30s --timeout=20s --start-period=60s --retries=3 \
    CMD ["mediabot", "health"]

ENTRYPOINT ["mediabot"]
CMD ["run"]
