# syntax=docker/dockerfile:1
#
# goldenpath in a container: one static binary (CGO_ENABLED=0: the reference
# backend's SQLite is modernc.org/sqlite, pure Go) on a distroless base with
# no shell, run as a non-root numeric user. The image runs every subcommand:
# `run` (a segment of a distributed test, deploy/kubernetes), `merge`, and
# `serve` (the reference backend as a target).
#
#   docker build -t registry.example.com/goldenpath:v1 .
#   docker run --rm registry.example.com/goldenpath:v1 run --suite integrated --out /tmp/report
#
# docs/distributed.md walks through building, pushing and running it on
# Kubernetes.

ARG GO_VERSION=1.26.8

# Build on the builder's own platform and cross-compile to the target's
# (docker buildx build --platform linux/amd64,linux/arm64 ...).
FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ARG TARGETOS=linux
ARG TARGETARCH
# -trimpath: no builder paths in the binary; -s -w: no symbol table or DWARF
# (goldenpath version still reads the module's build information).
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags='-s -w' -o /out/goldenpath ./cmd/goldenpath

# distroless/static: CA certificates, tzdata and /etc/passwd with the
# nonroot user (65532), nothing else.
FROM gcr.io/distroless/static:nonroot
COPY --from=build /out/goldenpath /usr/local/bin/goldenpath
# Numeric, so that Kubernetes' runAsNonRoot can verify it without a passwd lookup.
USER 65532:65532
# Reports are written under --out (default ./goldenpath-report): give a
# writable directory, e.g. a volume, when the root filesystem is read-only.
WORKDIR /home/nonroot
ENTRYPOINT ["/usr/local/bin/goldenpath"]
CMD ["help"]
