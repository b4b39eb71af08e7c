# The dumper image that the backup and restore Jobs run: one static binary, CA certificates,
# a non-root user, nothing else.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
# cgo: the dumper compresses with the zstd library (github.com/DataDog/zstd builds its C sources);
# linked statically, with the pure-Go resolver and user lookup, so the image needs no libc.
RUN CGO_ENABLED=1 go build -trimpath -tags netgo,osusergo \
      -ldflags "-s -w -X github.com/backupctl/backupctl/version.Version=${VERSION} -linkmode external -extldflags -static" \
      -o /out/dumper ./cmd/dumper \
 && CGO_ENABLED=1 go build -trimpath -tags netgo,osusergo \
      -ldflags "-s -w -X github.com/backupctl/backupctl/version.Version=${VERSION} -linkmode external -extldflags -static" \
      -o /out/backupctl ./cmd/backupctl

# distroless/static: CA certificates, /etc/passwd with nonroot (65532), no shell.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/dumper /out/backupctl /usr/local/bin/
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/dumper"]
