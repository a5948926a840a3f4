# fabplan as a container: `fabplan serve` by default (docs/serve.md), any other command by
# arguments. A static binary on distroless's static base (CA certificates and tzdata, no shell, no
# package manager), running as the image's non-root user.
#
#   make image                     # or: docker build -t fabplan .
#   docker run --rm -p 8080:8080 -v "$PWD/plans:/plans:ro" -e AZURE_TENANT_ID -e AZURE_CLIENT_ID \
#     -e AZURE_CLIENT_SECRET fabplan serve --watch /plans/sales/estate.star@prod

ARG GO_VERSION=1.26
FROM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
# What `fabplan version` says (make image passes them from git, as make release stamps binaries).
ARG VERSION= COMMIT= DATE= MODIFIED=
# CGO off: a static binary that runs on a base with no libc. -trimpath and no VCS stamping keep the
# build reproducible from the same sources; the version comes from the build arguments.
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -buildvcs=false -ldflags="-s -w \
      -X github.com/fabplan/fabplan/cmd/fabplan/internal/version.version=${VERSION} \
      -X github.com/fabplan/fabplan/cmd/fabplan/internal/version.commit=${COMMIT} \
      -X github.com/fabplan/fabplan/cmd/fabplan/internal/version.date=${DATE} \
      -X github.com/fabplan/fabplan/cmd/fabplan/internal/version.modified=${MODIFIED}" \
    -o /out/fabplan ./cmd/fabplan

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/fabplan /usr/local/bin/fabplan
# Journals of --reconcile runs and prune's ownership records live here; mount a volume to keep them.
ENV FABPLAN_STATE_DIR=/var/lib/fabplan
WORKDIR /var/lib/fabplan
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/fabplan"]
CMD ["serve", "--help"]
