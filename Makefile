# backupctl — run `make help` for the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X github.com/backupctl/backupctl/version.Version=$(VERSION)
GO_BUILD := CGO_ENABLED=1 go build -trimpath -tags netgo,osusergo -ldflags '$(LDFLAGS) -linkmode external -extldflags -static'
ENV := set -a; source .stack/env; set +a;

.PHONY: help cc build lint up down test test-unit test-integration test-kube demo bench clean

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

build: cc ## Build static binaries bin/backupctl and bin/dumper
	$(GO_BUILD) -o bin/backupctl ./cmd/backupctl
	$(GO_BUILD) -o bin/dumper ./cmd/dumper

# The binaries compress with the zstd library through cgo: they need a C compiler and a static libc.
cc:
	@scripts/packages.sh cc

lint: cc ## gofmt and go vet
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	go vet ./...

up: ## Start MariaDB (source and restore target), MinIO and a local Kubernetes cluster (control plane, kubelet, containerd) under .stack/
	scripts/stack.sh up
	@if [ -x scripts/k8s.sh ]; then scripts/k8s.sh up; fi
	scripts/stack.sh minio-tls-up

down: ## Stop exactly what `make up` started
	@if [ -x scripts/k8s.sh ]; then scripts/k8s.sh down; fi
	scripts/stack.sh down

test-unit: ## Unit tests (no servers)
	go test -count=1 -short ./...

test-integration: build ## All root-module tests against the servers from `make up`
	@if [ -x scripts/k8s.sh ]; then scripts/k8s.sh images; fi
	$(ENV) go test -count=1 -p 1 -timeout 40m ./...
	@echo "without cgo: the Go zstd encoder and decoder, through a backup, its verification and a restore, and its window limit"
	$(ENV) CGO_ENABLED=0 go test -count=1 -run 'TestFrames|TestChunk|TestZstdWindow|TestOwnFrames|TestRestoreDatasetParallelChunks' ./backup/format/ ./backup/restore/

test-kube: ## Cluster tests under e2e/kube (control plane, the real node, the image builder)
	@if [ -x scripts/k8s.sh ]; then scripts/k8s.sh test; fi

test: lint up test-integration test-kube ## Everything: lint, start the servers, every test

demo: build up ## Run the main job end to end (see README)
	scripts/demo.sh

bench: build up ## Compare speed and memory with mariadb-dump (see README)
	scripts/bench.sh

clean: down ## Stop the servers and remove build output and .stack/
	rm -rf bin .stack
