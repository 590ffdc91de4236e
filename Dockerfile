# The Switchboard server. Build: docker build -t switchboard .
FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p switchboard-api --bin switchboard \
 && cargo build --release --locked -p switchboard-load --bin switchboard-load

FROM debian:bookworm-slim
# Pinned to bookworm's versions (hadolint DL3008); bump them with the base image.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      ca-certificates=20250419~deb12u2 curl=7.88.1-10+deb12u15 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --no-create-home switchboard
COPY --from=build /src/target/release/switchboard /usr/local/bin/switchboard
# The load generator ships in the same image: docker run --entrypoint switchboard-load ...
COPY --from=build /src/target/release/switchboard-load /usr/local/bin/switchboard-load
# Numeric, so that Kubernetes' runAsNonRoot can check it.
USER 10001:10001
ENV SWITCHBOARD_BIND=0.0.0.0:8080
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
ENTRYPOINT ["switchboard"]
CMD ["serve"]
