package tagger

import (
	"fmt"

	"github.com/openmed/openmed/core/tensor"
	"github.com/openmed/openmed/core/tokenize"
)

// BackendKind chooses what computes the logits.
type BackendKind int

const (
	// BackendAuto uses ONNX Runtime when its library loads and falls back to
	// the pure-Go engine otherwise.
	BackendAuto BackendKind = iota
	// BackendORT is ONNX Runtime (the default and the fastest here): the
	// model folder's onnx/model.onnx, or an export made on the fly into the
	// cache. Each adapter gets its own merged session (memory ≈ one full model
	// per adapter).
	BackendORT
	// BackendEngine is openmed's own Go forward pass (core/model over
	// OpenBLAS). Adapters share one base: swapping selects LoRA deltas and
	// classifier (memory ≈ base + small adapters).
	BackendEngine
)

// String is the CLI spelling ("auto", "ort", "go").
func (b BackendKind) String() string {
	switch b {
	case BackendAuto:
		return "auto"
	case BackendORT:
		return "ort"
	case BackendEngine:
		return "go"
	}
	return fmt.Sprintf("BackendKind(%d)", int(b))
}

// ParseBackend reads "auto", "ort" or "go" (also "engine").
func ParseBackend(s string) (BackendKind, error) {
	switch s {
	case "auto", "":
		return BackendAuto, nil
	case "ort", "onnxruntime":
		return BackendORT, nil
	case "go", "engine":
		return BackendEngine, nil
	}
	return BackendAuto, fmt.Errorf("tagger: unknown backend %q (want auto, ort or go)", s)
}

// Overlap says how tagging with several adapters (WithAllAdapters, a
// default tagger with tag_with "all") resolves entities whose spans overlap.
type Overlap int

const (
	// OverlapSameType (the default) keeps the union of typed entities: only
	// overlapping entities of the same type collapse into the higher-scoring
	// one; a Chemical and a Disease over the same characters both stay.
	OverlapSameType Overlap = iota
	// OverlapAny gives a flat entity list (what CoNLL-style corpora and
	// spaCy's doc.ents hold): overlapping typed entities of any types
	// collapse into the higher-scoring one.
	OverlapAny
)

// String is the CLI spelling ("same-type", "any").
func (v Overlap) String() string {
	switch v {
	case OverlapSameType:
		return "same-type"
	case OverlapAny:
		return "any"
	}
	return fmt.Sprintf("Overlap(%d)", int(v))
}

// ParseOverlap reads "same-type" (or "") and "any" (also "flat").
func ParseOverlap(s string) (Overlap, error) {
	switch s {
	case "same-type", "":
		return OverlapSameType, nil
	case "any", "flat":
		return OverlapAny, nil
	}
	return OverlapSameType, fmt.Errorf("tagger: unknown overlap policy %q (want same-type or any)", s)
}

// Options configure a Tagger. DefaultOptions holds the paper's and HF's
// defaults; Option functions adjust them. They serialise as JSON (the C
// ABI's config_json and Python's keyword options use these names).
type Options struct {
	// Backend picks ORT, the Go engine or auto (default).
	Backend BackendKind `json:"backend"`
	// Device is the ORT execution provider (CPU default; CUDA needs a CUDA
	// build of ONNX Runtime and fails clearly without one).
	Device Device `json:"device"`
	// ORTLibrary overrides the libonnxruntime.so.1 search.
	ORTLibrary string `json:"ort_library,omitempty"`
	// Threads is ORT's intra-op thread count, or on the Go engine its
	// thread count, which is process-wide (tensor.SetThreads, as the trainer
	// sets it): the last tagger opened with Threads > 0 sets it. 0 = one per
	// core ($OPENMED_THREADS for the engine).
	Threads int `json:"threads"`
	// Precision is the Go engine's arithmetic for the large products:
	// fp32 (default) or bf16 (oneDNN on CPUs with AVX512-BF16 or AMX;
	// 2.2–3× the fp32 engine here, measured in benchmarks/RESULTS.md). ONNX
	// Runtime's CPU provider has no bf16 kernels, so bf16 makes the auto
	// backend pick the Go engine and is an error with BackendORT. It is
	// process-wide (tensor.SetPrecision), like the engine's thread count.
	Precision tensor.Precision `json:"precision"`
	// Aggregation is HF's aggregation_strategy (default first).
	Aggregation Aggregation `json:"aggregation"`
	// IgnoreLabels are dropped from the output (HF ignore_labels, default ["O"]).
	IgnoreLabels []string `json:"ignore_labels"`
	// Threshold drops entities scoring below it (default 0: keep all).
	Threshold float32 `json:"threshold"`
	// Overlap resolves overlapping entities from several adapters (default
	// OverlapSameType).
	Overlap Overlap `json:"overlap"`
	// WindowLen and Stride split long documents (OpenMed NER §3: 256 tokens
	// with 50 overlap); WindowLen may go up to max_position_embeddings. 0
	// means 256 capped at the model's max_position_embeddings (the stride
	// then shrinks to a quarter of the window if it would exceed half).
	WindowLen int `json:"window_length"`
	Stride    int `json:"stride"`
	// BatchSize is the number of windows per backend call (default 8);
	// windows are sorted by length so a batch pads little (length buckets).
	// ONNX Runtime keeps a batch's activations per session: at 8 windows a
	// 0.5 MB document with the default tagger's three adapters peaks at
	// 515 MB RSS against 1,017 MB at 32, at the same speed (measured
	// 2026-12-06; benchmarks/RESULTS.md, long documents). A tiled
	// shared-base session (several adapters in one ORT session, openShared)
	// runs each window once per adapter, so it takes BatchSize/#adapters
	// windows per call (at least one).
	BatchSize int `json:"batch_size"`
	// BatchTokens caps a backend call's padded tokens (windows × the
	// batch's window length), so short sentences share a call up to
	// BatchSize while full 256-token windows run a few at a time, which is
	// faster on the CPU (batchEnd); a window longer than the cap runs alone.
	// 0 (the default) sizes the cap by the encoder's width,
	// batchActivations / hidden_size: 512 tokens for BERT-base (768), 1,536
	// for the 256-wide small tagger; a negative value means no cap.
	BatchTokens int `json:"batch_tokens"`
	// Use opens only these adapters of a manifest (the default tagger, a
	// preset or a folder holding default.json; default: all of them), so
	// tagging with one of the default tagger's adapters runs that one alone
	// instead of every branch of the shared session. Such a tagger tags
	// with all it opened. Ignored for a model folder.
	Use []string `json:"use,omitempty"`
	// CacheDir holds on-the-fly ONNX exports keyed by content hash (default
	// $OPENMED_CACHE or the user cache dir + /openmed).
	CacheDir string `json:"cache_dir,omitempty"`
	// BaseDir is the base model of an adapter folder when its
	// adapter_config.json base_model_name_or_path does not resolve locally.
	BaseDir string `json:"base,omitempty"`
	// shared are a manifest's adapters, which ORT opens as one shared-base
	// session when the encoder family allows (openSource, openShared).
	shared []namedAdapter
}

// DefaultOptions returns the defaults: auto backend, CPU, aggregation
// first (only a word's first sub-token carries a trained label, so no entity
// starts or ends inside a word; issue 18), ignore ["O"], windows 256/50
// (auto-capped), batches of 8 windows capped by the encoder's width.
func DefaultOptions() Options {
	return Options{Aggregation: AggregationFirst, IgnoreLabels: []string{"O"},
		WindowLen: 0, Stride: tokenize.DefaultStride, BatchSize: 8}
}

// batchActivations is the default cap of a backend call's tokens × hidden
// size (Options.BatchTokens 0): two 256-token windows of a 768-wide
// encoder. Measured with benchmarks/tagger/batchsize.sh (2026-12-07, AMD
// EPYC AVX2, idle): BERT-base over 25 abstracts, 1 thread, ORT 26.3 s at
// 8 windows capped to 512 tokens vs 32.5 s uncapped and 25.9 s one window
// a call; the 256-wide small tagger on a 100 KB document (Go engine, 2
// threads) 8.1 s uncapped vs 9.8 s capped at 512 tokens, hence a cap
// that grows as the width shrinks.
const batchActivations = 512 * 768

// batchTokens resolves Options.BatchTokens for an encoder of the given
// hidden size: the cap in tokens, or 0 for none.
func (o Options) batchTokens(hidden int) int {
	switch {
	case o.BatchTokens < 0:
		return 0
	case o.BatchTokens > 0:
		return o.BatchTokens
	case hidden <= 0:
		return 0
	}
	return max(1, batchActivations/hidden)
}

// Option adjusts Options (functional options).
type Option func(*Options)

// buildOptions applies opts, in order, to DefaultOptions.
func buildOptions(opts []Option) Options {
	o := DefaultOptions()
	for _, f := range opts {
		f(&o)
	}
	return o
}

// WithBackend selects the backend.
func WithBackend(b BackendKind) Option { return func(o *Options) { o.Backend = b } }

// WithDevice selects the ORT execution provider.
func WithDevice(d Device) Option { return func(o *Options) { o.Device = d } }

// WithORTLibrary sets the libonnxruntime.so.1 path.
func WithORTLibrary(path string) Option { return func(o *Options) { o.ORTLibrary = path } }

// WithPrecision sets the Go engine's arithmetic (Options.Precision).
func WithPrecision(p tensor.Precision) Option { return func(o *Options) { o.Precision = p } }

// WithThreads sets the threads (Options.Threads): ORT's intra-op threads, or
// the Go engine's.
func WithThreads(n int) Option { return func(o *Options) { o.Threads = n } }

// WithAggregation sets the aggregation strategy.
func WithAggregation(a Aggregation) Option { return func(o *Options) { o.Aggregation = a } }

// WithIgnoreLabels replaces the ignored labels (pass none to keep all).
func WithIgnoreLabels(labels ...string) Option {
	return func(o *Options) { o.IgnoreLabels = append([]string(nil), labels...) }
}

// WithThreshold drops entities scoring below t.
func WithThreshold(t float32) Option { return func(o *Options) { o.Threshold = t } }

// WithOverlap sets how entities of several adapters that overlap are
// resolved (see Overlap).
func WithOverlap(v Overlap) Option { return func(o *Options) { o.Overlap = v } }

// WithWindow sets the window length and stride (tokens, specials included).
func WithWindow(length, stride int) Option {
	return func(o *Options) { o.WindowLen, o.Stride = length, stride }
}

// WithUse opens only the named adapters of a manifest (Options.Use).
func WithUse(names ...string) Option { return func(o *Options) { o.Use = names } }

// WithBatchSize sets the windows per backend call.
func WithBatchSize(n int) Option { return func(o *Options) { o.BatchSize = n } }

// WithBatchTokens sets the padded tokens per backend call
// (Options.BatchTokens; 0: sized by the encoder's width, negative: no cap).
func WithBatchTokens(n int) Option { return func(o *Options) { o.BatchTokens = n } }

// WithCacheDir sets where on-the-fly exports go.
func WithCacheDir(dir string) Option { return func(o *Options) { o.CacheDir = dir } }

// WithBaseDir names the base model of an adapter folder.
func WithBaseDir(dir string) Option { return func(o *Options) { o.BaseDir = dir } }

func (o *Options) validate(maxPos int) error {
	if o.WindowLen == 0 {
		o.WindowLen = tokenize.DefaultWindowLen
		if maxPos > 0 && maxPos < o.WindowLen {
			o.WindowLen = maxPos
		}
		if o.Stride > o.WindowLen/2 {
			o.Stride = o.WindowLen / 4
		}
	}
	if o.WindowLen < 8 {
		return fmt.Errorf("tagger: window length %d is too small (min 8)", o.WindowLen)
	}
	if maxPos > 0 && o.WindowLen > maxPos {
		return fmt.Errorf("tagger: window length %d exceeds the model's max_position_embeddings %d", o.WindowLen, maxPos)
	}
	if o.Stride < 0 || o.Stride >= o.WindowLen-2 {
		return fmt.Errorf("tagger: stride %d must be in [0, window length − 2 = %d)", o.Stride, o.WindowLen-2)
	}
	if o.BatchSize <= 0 {
		return fmt.Errorf("tagger: batch size must be positive, got %d", o.BatchSize)
	}
	if o.Threshold < 0 || o.Threshold > 1 {
		return fmt.Errorf("tagger: threshold %g is not in [0, 1]", o.Threshold)
	}
	if o.Overlap != OverlapSameType && o.Overlap != OverlapAny {
		return fmt.Errorf("tagger: unknown overlap policy %v", o.Overlap)
	}
	return nil
}
