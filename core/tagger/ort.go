package tagger

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/openmed/openmed/core/onnx"
	"github.com/openmed/openmed/core/tensor"
	ort "github.com/yalue/onnxruntime_go"
)

// Device selects the ONNX Runtime execution provider.
type Device int

// Devices. The npm onnxruntime-node build openmed ships is CPU-only.
const (
	// DeviceCPU is ORT's default CPU execution provider.
	DeviceCPU Device = iota
	// DeviceCUDA is the CUDA execution provider (needs a CUDA build of ORT).
	DeviceCUDA
)

// String is the CLI spelling ("cpu", "cuda").
func (d Device) String() string {
	switch d {
	case DeviceCPU:
		return "cpu"
	case DeviceCUDA:
		return "cuda"
	}
	return fmt.Sprintf("Device(%d)", int(d))
}

// ParseDevice reads "cpu" or "cuda".
func ParseDevice(s string) (Device, error) {
	switch s {
	case "cpu", "":
		return DeviceCPU, nil
	case "cuda", "gpu":
		return DeviceCUDA, nil
	}
	return DeviceCPU, fmt.Errorf("tagger: unknown device %q (want cpu or cuda)", s)
}

// ORTOptions configure an ORT session. The zero value means: library found by
// ResolveORTLibrary, one intra-op thread per core, CPU.
type ORTOptions struct {
	// LibraryPath overrides the libonnxruntime.so.1 search (see ResolveORTLibrary).
	LibraryPath string
	// IntraOpThreads is ORT's intra_op_num_threads; 0 means one per core.
	IntraOpThreads int
	// Device picks the execution provider.
	Device Device
	// NoSpin stops idle intra-op threads from spin-waiting
	// (session.intra_op.allow_spinning = 0): slightly higher latency, but no
	// CPU burnt between calls on a shared machine.
	NoSpin bool
}

// ORTBackend runs an exported token-classification model (onnx/model.onnx)
// with ONNX Runtime. It is safe for concurrent use: ORT documents
// OrtSession::Run as thread-safe, each call here creates its own input and
// output tensors, and a read–write lock keeps Close from racing a Run.
type ORTBackend struct {
	mu      sync.RWMutex
	session *ort.DynamicAdvancedSession
	path    string
	inputs  []string // model input names, in session order
	types   bool     // model takes token_type_ids
	// outputs are the logits outputs: "logits", or a shared-base graph's
	// "logits.<adapter>" (onnx.BuildShared), with their label counts (0:
	// a symbolic axis, only for a single "logits").
	outputs   []string
	outLabels []int
	threads   int
	closed    bool
}

var _ Backend = (*ORTBackend)(nil)

// ErrClosed is returned by Logits after Close.
var ErrClosed = errors.New("tagger: backend is closed")

// ONNXModelFile resolves path to an ONNX file: a .onnx file itself, or a folder
// holding onnx/model.onnx (the HF Optimum / transformers.js layout) or model.onnx.
func ONNXModelFile(path string) (string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("tagger: ONNX model %s: %w", path, err)
	}
	if !st.IsDir() {
		return path, nil
	}
	for _, rel := range []string{filepath.Join("onnx", "model.onnx"), "model.onnx"} {
		if p := filepath.Join(path, rel); ortFileExists(p) {
			return p, nil
		}
	}
	return "", fmt.Errorf("tagger: %s has no onnx/model.onnx or model.onnx (run `openmed export --model DIR --out %s`)", path, path)
}

// NewORT opens an ONNX token-classification model (see ONNXModelFile for path)
// in a dynamic-shape ORT session. The model must have int64 inputs input_ids
// and attention_mask (token_type_ids optional) and a float32 output logits
// [batch, seq, num_labels] — or, for a shared-base graph of several adapters
// (onnx.BuildShared), one output "logits.<adapter>" each (Heads, LogitsAll).
func NewORT(path string, opts ORTOptions) (*ORTBackend, error) {
	file, err := ONNXModelFile(path)
	if err != nil {
		return nil, err
	}
	if _, err := initORT(opts.LibraryPath); err != nil {
		return nil, err
	}
	sig, err := onnx.ReadSignature(file)
	if err != nil {
		return nil, fmt.Errorf("tagger: %w", err)
	}
	be := &ORTBackend{path: file, threads: opts.IntraOpThreads}
	if be.threads <= 0 {
		be.threads = ortDefaultThreads()
	}
	if err := be.checkSignature(sig); err != nil {
		return nil, err
	}
	so, err := ort.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("tagger: ORT session options: %w", err)
	}
	defer so.Destroy()
	if err := so.SetIntraOpNumThreads(be.threads); err != nil {
		return nil, fmt.Errorf("tagger: ORT intra-op threads %d: %w", be.threads, err)
	}
	if err := so.SetInterOpNumThreads(1); err != nil {
		return nil, fmt.Errorf("tagger: ORT inter-op threads: %w", err)
	}
	if opts.NoSpin {
		if err := so.AddSessionConfigEntry("session.intra_op.allow_spinning", "0"); err != nil {
			return nil, fmt.Errorf("tagger: ORT allow_spinning: %w", err)
		}
	}
	if err := memoryOptions(so); err != nil {
		return nil, err
	}
	if err := appendDevice(so, opts.Device); err != nil {
		return nil, err
	}
	s, err := ort.NewDynamicAdvancedSession(file, be.inputs, be.outputs, so)
	if err != nil {
		return nil, fmt.Errorf("tagger: ORT session for %s: %w", file, shortORTError(err))
	}
	be.session = s
	return be, nil
}

// memoryOptions sets how a session allocates its activations: from the
// environment's shared arena when one is registered (registerSharedArena),
// and without memory patterns, which ORT plans and keeps per input shape —
// with the tagger's varying batch and window lengths they only add to the
// peak (ORT's guidance for dynamic shapes).
func memoryOptions(so *ort.SessionOptions) error {
	ortEnv.Lock()
	shared := ortEnv.sharedArena
	ortEnv.Unlock()
	if shared {
		if err := so.AddSessionConfigEntry("session.use_env_allocators", "1"); err != nil {
			return fmt.Errorf("tagger: ORT shared allocator: %w", err)
		}
	}
	if err := so.SetMemPattern(false); err != nil {
		return fmt.Errorf("tagger: ORT memory pattern: %w", err)
	}
	return nil
}

// appendDevice registers the execution provider for d.
func appendDevice(so *ort.SessionOptions, d Device) error {
	switch d {
	case DeviceCPU:
		return nil
	case DeviceCUDA:
		cuda, err := ort.NewCUDAProviderOptions()
		if err != nil {
			return fmt.Errorf("tagger: --device cuda: this ONNX Runtime build has no CUDA execution provider (%v); the bundled npm onnxruntime-node library is CPU-only: use --device cpu or point %s at a CUDA build of libonnxruntime", err, EnvORTLib)
		}
		defer cuda.Destroy()
		if err := so.AppendExecutionProviderCUDA(cuda); err != nil {
			return fmt.Errorf("tagger: --device cuda: this ONNX Runtime build has no usable CUDA execution provider (%v); use --device cpu or point %s at a CUDA build of libonnxruntime", err, EnvORTLib)
		}
		return nil
	}
	return fmt.Errorf("tagger: unsupported device %v", d)
}

// checkSignature validates the model's inputs and output and records them
// (read from the file with onnx.ReadSignature, which skips the weights, so
// the model is parsed by ORT only once).
func (be *ORTBackend) checkSignature(sig *onnx.Signature) error {
	for _, in := range sig.Inputs {
		if in.ElemType != onnx.Int64 {
			return fmt.Errorf("tagger: %s: input %q is %v, want INT64", be.path, in.Name, in.ElemType)
		}
		switch in.Name {
		case onnx.InputIDs, onnx.AttentionMask:
		case onnx.TokenTypeIDs:
			be.types = true
		default:
			return fmt.Errorf("tagger: %s: unexpected model input %q (want input_ids, attention_mask[, token_type_ids])", be.path, in.Name)
		}
		be.inputs = append(be.inputs, in.Name)
	}
	for _, need := range []string{onnx.InputIDs, onnx.AttentionMask} {
		if _, ok := sig.Input(need); !ok {
			return fmt.Errorf("tagger: %s: model has no %q input", be.path, need)
		}
	}
	var outs []onnx.ValueInfo
	if o, ok := sig.Output(onnx.OutputLogits); ok {
		outs = append(outs, o)
	} else {
		for _, o := range sig.Outputs {
			if strings.HasPrefix(o.Name, onnx.SharedOutputPrefix) {
				outs = append(outs, o)
			}
		}
	}
	if len(outs) == 0 {
		return fmt.Errorf("tagger: %s: model has no %q output (nor a shared-base graph's %q… outputs)", be.path, onnx.OutputLogits, onnx.SharedOutputPrefix)
	}
	for _, o := range outs {
		if o.ElemType != onnx.Float || len(o.Dims) != 3 {
			return fmt.Errorf("tagger: %s: output %s is %v with %d axes, want FLOAT [batch, seq, num_labels]", be.path, o.Name, o.ElemType, len(o.Dims))
		}
		if len(outs) > 1 && o.Dims[2].Value <= 0 {
			return fmt.Errorf("tagger: %s: output %s has no fixed num_labels axis", be.path, o.Name)
		}
		be.outputs = append(be.outputs, o.Name)
		be.outLabels = append(be.outLabels, int(o.Dims[2].Value)) // 0 when symbolic: ORT allocates the output
	}
	return nil
}

// Heads names a shared-base graph's adapters in output order (nil for a
// model with the single output "logits").
func (be *ORTBackend) Heads() []string {
	if len(be.outputs) == 1 && be.outputs[0] == onnx.OutputLogits {
		return nil
	}
	names := make([]string, len(be.outputs))
	for i, o := range be.outputs {
		names[i] = strings.TrimPrefix(o, onnx.SharedOutputPrefix)
	}
	return names
}

// HeadLabels is the label count of each output, in Heads order.
func (be *ORTBackend) HeadLabels() []int { return append([]int(nil), be.outLabels...) }

// NumLabels is the size of the logits' last axis (0 when the model leaves it
// symbolic; Logits then reports it in the result's shape).
func (be *ORTBackend) NumLabels() int { return be.outLabels[0] }

// UsesTokenTypes reports whether the model takes token_type_ids (BERT and
// ELECTRA do; DeBERTa-v3 with type_vocab_size 0 does not).
func (be *ORTBackend) UsesTokenTypes() bool { return be.types }

// Threads is the intra-op thread count the session was created with.
func (be *ORTBackend) Threads() int { return be.threads }

// Path is the .onnx file the session runs.
func (be *ORTBackend) Path() string { return be.path }

// Logits runs the model on one batch; see Backend. It returns an error (never
// panics) for ragged or mismatched inputs and after Close. For a shared-base
// graph it is the first adapter's logits (LogitsAll gives every adapter's
// from the same run).
func (be *ORTBackend) Logits(inputIDs, attentionMask, tokenTypeIDs [][]int64) (*tensor.Tensor, error) {
	all, err := be.LogitsAll(inputIDs, attentionMask, tokenTypeIDs)
	if err != nil {
		return nil, err
	}
	return all[0], nil
}

// LogitsAll runs the model once on one batch and returns every logits
// output, in Heads order ([batch, seq, labels] each).
func (be *ORTBackend) LogitsAll(inputIDs, attentionMask, tokenTypeIDs [][]int64) ([]*tensor.Tensor, error) {
	batch, seq, err := ortBatchShape(inputIDs, attentionMask, tokenTypeIDs)
	if err != nil {
		return nil, err
	}
	be.mu.RLock()
	defer be.mu.RUnlock()
	if be.closed {
		return nil, ErrClosed
	}
	shape := ort.NewShape(int64(batch), int64(seq))
	values := make([]ort.Value, 0, len(be.inputs))
	defer func() {
		for _, v := range values {
			v.Destroy()
		}
	}()
	for _, name := range be.inputs {
		var rows [][]int64
		switch name {
		case onnx.InputIDs:
			rows = inputIDs
		case onnx.AttentionMask:
			rows = attentionMask
		case onnx.TokenTypeIDs:
			rows = tokenTypeIDs // nil → zeros
		}
		t, err := ort.NewTensor(shape, ortFlatten(rows, batch, seq))
		if err != nil {
			return nil, fmt.Errorf("tagger: input %s: %w", name, err)
		}
		values = append(values, t)
	}
	if be.outLabels[0] == 0 {
		out, err := be.runAllocated(values, batch, seq)
		if err != nil {
			return nil, err
		}
		return []*tensor.Tensor{out}, nil
	}
	// ORT writes straight into the Go tensors' buffers.
	res := make([]*tensor.Tensor, len(be.outputs))
	outs := make([]ort.Value, len(be.outputs))
	defer func() {
		for _, v := range outs {
			if v != nil {
				v.Destroy()
			}
		}
	}()
	for i, n := range be.outLabels {
		res[i] = tensor.New(batch, seq, n)
		ot, err := ort.NewTensor(ort.NewShape(int64(batch), int64(seq), int64(n)), res[i].Data)
		if err != nil {
			return nil, fmt.Errorf("tagger: logits buffer: %w", err)
		}
		outs[i] = ot
	}
	if err := be.session.Run(values, outs); err != nil {
		return nil, fmt.Errorf("tagger: ORT run of %s on [%d,%d]: %w", be.path, batch, seq, shortORTError(err))
	}
	return res, nil
}

// runAllocated runs a model whose num_labels axis is symbolic: ORT allocates
// the output and the logits are copied out.
func (be *ORTBackend) runAllocated(values []ort.Value, batch, seq int) (*tensor.Tensor, error) {
	outs := []ort.Value{nil}
	if err := be.session.Run(values, outs); err != nil {
		return nil, fmt.Errorf("tagger: ORT run of %s on [%d,%d]: %w", be.path, batch, seq, shortORTError(err))
	}
	defer outs[0].Destroy()
	ft, ok := outs[0].(*ort.Tensor[float32])
	if !ok {
		return nil, fmt.Errorf("tagger: %s: logits is not a float32 tensor", be.path)
	}
	shape := ft.GetShape()
	if len(shape) != 3 || shape[0] != int64(batch) || shape[1] != int64(seq) {
		return nil, fmt.Errorf("tagger: %s: logits shape %v, want [%d %d num_labels]", be.path, shape, batch, seq)
	}
	return tensor.FromData(append([]float32(nil), ft.GetData()...), batch, seq, int(shape[2]))
}

// Close releases the ORT session. It waits for running Logits calls and is
// idempotent. The process-global ORT environment stays loaded for later sessions.
func (be *ORTBackend) Close() error {
	be.mu.Lock()
	defer be.mu.Unlock()
	if be.closed {
		return nil
	}
	be.closed = true
	if be.session == nil {
		return nil
	}
	err := be.session.Destroy()
	be.session = nil
	if err != nil {
		return fmt.Errorf("tagger: closing ORT session %s: %w", be.path, err)
	}
	return nil
}

// batchShape checks that ids, mask (and token types, when given) are the same
// non-empty rectangle and returns its size.
func ortBatchShape(ids, mask, types [][]int64) (batch, seq int, err error) {
	if len(ids) == 0 || len(ids[0]) == 0 {
		return 0, 0, fmt.Errorf("tagger: empty batch (input_ids is [%d][…])", len(ids))
	}
	batch, seq = len(ids), len(ids[0])
	check := func(name string, rows [][]int64) error {
		if len(rows) != batch {
			return fmt.Errorf("tagger: %s has %d rows, input_ids has %d", name, len(rows), batch)
		}
		for i, r := range rows {
			if len(r) != seq {
				return fmt.Errorf("tagger: %s row %d has %d tokens, want %d (pad every row to the same length)", name, i, len(r), seq)
			}
		}
		return nil
	}
	if err := check("input_ids", ids); err != nil {
		return 0, 0, err
	}
	if err := check("attention_mask", mask); err != nil {
		return 0, 0, err
	}
	if types != nil {
		if err := check("token_type_ids", types); err != nil {
			return 0, 0, err
		}
	}
	return batch, seq, nil
}

// flatten copies rows into one row-major slice; nil rows give zeros.
func ortFlatten(rows [][]int64, batch, seq int) []int64 {
	out := make([]int64, batch*seq)
	for i, r := range rows {
		copy(out[i*seq:], r)
	}
	return out
}

// maxORTMessage bounds an ONNX Runtime message inside an error: ORT can
// print whole node and tensor dumps (thousands of characters on one line)
// where one line says what is wrong.
const maxORTMessage = 300

// ortShortError is an ONNX Runtime error cut to its first line and
// maxORTMessage characters; errors.Unwrap gives the full one.
type ortShortError struct{ err error }

func (e ortShortError) Error() string {
	msg := e.err.Error()
	cut := false
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg, cut = msg[:i], true
	}
	if r := []rune(msg); len(r) > maxORTMessage {
		msg, cut = string(r[:maxORTMessage]), true
	}
	if cut {
		msg += fmt.Sprintf(" … (ONNX Runtime's message cut from %d characters)", len(e.err.Error()))
	}
	return msg
}

func (e ortShortError) Unwrap() error { return e.err }

func shortORTError(err error) error { return ortShortError{err} }
