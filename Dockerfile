# syntax=docker/dockerfile:1
# Multi-stage build: compile in the Rust image, run on slim Debian.

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY search-config ./search-config
RUN cargo build --release --locked --bin crowdjuke

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home /data --create-home crowdjuke
COPY --from=build /src/target/release/crowdjuke /usr/local/bin/crowdjuke
USER crowdjuke
WORKDIR /data
ENV CROWDJUKE_LISTEN=0.0.0.0:8080 \
    CROWDJUKE_DATA_DIR=/data \
    CROWDJUKE_LOG_FORMAT=json
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s CMD curl -fsS http://127.0.0.1:8080/api/ready || exit 1
ENTRYPOINT ["crowdjuke"]
CMD ["serve", "--no-default-room"]
