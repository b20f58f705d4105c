# syntax=docker/dockerfile:1
# Multi-stage build: the web app with Node, the server in the Rust image,
# both run on slim Debian.

FROM node:20-bookworm-slim AS web
WORKDIR /src/frontend
COPY frontend/package.json frontend/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY frontend ./
RUN npm run build

FROM rust:1.95-bookworm AS build
WORKDIR /src
# The web app is built in its own stage above.
ENV SKIP_WEB_BUILD=1
COPY Cargo.toml Cargo.lock build.rs ./
COPY src ./src
COPY search-config ./search-config
RUN cargo build --release --locked --bin crowdjuke

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home /data --create-home crowdjuke
COPY --from=build /src/target/release/crowdjuke /usr/local/bin/crowdjuke
COPY --from=web /src/frontend/dist /usr/share/crowdjuke/web
USER crowdjuke
WORKDIR /data
# MALLOC_ARENA_MAX=2: two glibc malloc arenas instead of one per thread,
# a third less memory per connected client at the same CPU (BENCHMARKS.md).
ENV CROWDJUKE_LISTEN=0.0.0.0:8080 \
    MALLOC_ARENA_MAX=2 \
    CROWDJUKE_DATA_DIR=/data \
    CROWDJUKE_WEB_DIR=/usr/share/crowdjuke/web \
    CROWDJUKE_LOG_FORMAT=json
EXPOSE 8080
# `crowdjuke ready` asks GET /api/ready at the `listen` setting, so a changed
# CROWDJUKE_LISTEN is followed. A node listens only once it is connected to
# its database, Redis and search engine; the start period covers that.
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 CMD ["crowdjuke", "ready"]
ENTRYPOINT ["crowdjuke"]
CMD ["serve", "--no-default-room"]
