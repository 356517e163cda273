# openmed build. `make demo` is the main job (setup included); `make test` runs
# vet and every test (setup included). Both work on a fresh Debian bookworm
# machine with Go installed: setup installs the system packages itself.

GO        ?= go
BIN       := bin/openmed
SHARED    ?= ../shared
GOTESTFLAGS ?= -timeout 60m

.PHONY: all setup build test vet fmt demo fuzz clean

all: build

setup:
	bash scripts/setup.sh

build:
	$(GO) build -o $(BIN) ./cmd/openmed

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || (echo "gofmt needed:"; gofmt -l .; exit 1)
	$(GO) vet ./...

test: setup build vet
	$(GO) test $(GOTESTFLAGS) ./...

# The main job: score a shipped example prediction file against its gold file.
demo: setup build
	./$(BIN) eval --gold examples/ncbi_disease_sample.gold.tsv --pred examples/ncbi_disease_sample.pred.tsv

# Fuzz the parsers for FUZZTIME each (not part of `make test`).
FUZZTIME ?= 60s
fuzz:
	$(GO) test ./core/corpus -run '^$$' -fuzz FuzzReader -fuzztime $(FUZZTIME)
	$(GO) test ./core/scheme -run '^$$' -fuzz FuzzDecode -fuzztime $(FUZZTIME)

clean:
	rm -rf bin
