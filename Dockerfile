# syntax=docker/dockerfile:1
#
# pgusers from source, as a static binary on an empty image:
#
#   docker build -t pgusers --build-arg VERSION=v0.1.0 --build-arg COMMIT=$(git rev-parse HEAD) .
#   docker run --rm pgusers version
#
# Without the build arguments, the version and commit are what the Go build
# info says ("dev", or the commit when the context holds .git).
#
# The final image holds the binary and the CA certificates (TLS to the
# servers and to Microsoft Entra) and nothing else: no shell, no package
# manager. It runs as 65532:65532, not root. Releases build the same image
# from the release binaries (Dockerfile.release, through GoReleaser).
# Pin both base images by digest in your own copy.

ARG GO_VERSION=1.26.8

# The builder runs on the build machine's platform and cross-compiles, so a
# multi-platform build (--platform linux/amd64,linux/arm64) needs no emulation.
FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download && go mod verify
COPY . .
ARG TARGETOS TARGETARCH
ARG VERSION=
ARG COMMIT=
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath \
      -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT}" \
      -o /out/pgusers ./cmd/pgusers

FROM scratch
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/pgusers /pgusers
# Numeric, so that Kubernetes' runAsNonRoot can verify it.
USER 65532:65532
ENTRYPOINT ["/pgusers"]
