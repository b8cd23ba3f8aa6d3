# Two commands matter on a fresh machine: `make demo` and `make test`.
# Both need PostgreSQL's server binaries (initdb): .ci/ensure-postgres
# installs them as root on Debian, or says the one command that does.

GO ?= go
export PATH := $(PATH):/usr/local/go/bin

.PHONY: build demo test lint docs bench release-check

build:
	$(GO) build -o bin/pgusers ./cmd/pgusers

# A throwaway PostgreSQL with the pgaadauth emulation; pgusers plans and
# applies examples/local/pgusers.yaml on it, then shows drift repaired.
demo: build
	.ci/ensure-postgres
	$(GO) run ./internal/demo bin/pgusers examples/local/pgusers.yaml

# The fault sweeps of e2e/ and the randomized convergence test take
# minutes under -race on two cores: past go test's default 10 minutes.
test:
	.ci/ensure-postgres --tests
	$(GO) test -race -timeout 30m ./...
	$(GO) test -run '^$$' -fuzz '^FuzzLoad$$' -fuzztime 30s ./pkg/spec/

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change: $$out"; exit 1; fi
	$(GO) vet ./...

# The command-line reference, docs/cli/, from the commands' definitions
# (TestDocs fails when it is out of date).
docs:
	$(GO) generate ./cmd/pgusers

# The performance targets of docs/maintainers.md#benchmarks, measured; prints the figures.
bench:
	.ci/ensure-postgres
	.ci/ensure-bench-tools
	$(GO) test -run '^$$' -bench . -benchtime 3x -timeout 60m ./bench/
	$(GO) test -run '^$$' -bench FleetPlan50 -benchtime 3x -timeout 30m ./cmd/pgusers/
	$(GO) test -run '^$$' -bench Compute10k -benchmem ./pkg/diff/
	$(GO) test -run '^$$' -bench Render10k -benchmem ./pkg/report/

# The release configuration: goreleaser check and a snapshot build.
release-check:
	.ci/release-check
