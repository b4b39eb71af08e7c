# The dumper image that the backup and restore Jobs run: one static binary, CA certificates,
# a non-root user, nothing else.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X github.com/backupctl/backupctl/backup.Version=${VERSION}" \
      -o /out/dumper ./cmd/dumper \
 && CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X github.com/backupctl/backupctl/backup.Version=${VERSION}" \
      -o /out/backupctl ./cmd/backupctl

# distroless/static: CA certificates, /etc/passwd with nonroot (65532), no shell.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/dumper /out/backupctl /usr/local/bin/
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/dumper"]
