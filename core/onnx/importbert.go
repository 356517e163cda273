package onnx

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/openmed/openmed/core/checkpoint"
	"github.com/openmed/openmed/core/tensor"
)

// Importing a BERT-family ONNX release (a transformers/optimum export such as
// Xenova's bge-small-en-v1.5 or e5-small-v2) back into Hugging Face weights.
// PyTorch's exporter keeps the names of parameters it uses as they are
// (embeddings, biases, LayerNorms) but constant-folds each Linear weight W
// [out, in] into a new, auto-named initializer Wᵀ [in, out] ("onnx::MatMul_
// 1525") that feeds a MatMul. The importer walks the graph: an initializer's
// layout follows from the op that consumes it (MatMul B: [in, out],
// transposed back; Gemm with transB = 1: [out, in] as is), and an auto-named
// one takes its module name from the bias its MatMul's result is added to
// ("….query.bias" → "….query.weight"), else from the node's scope path
// ("/encoder/layer.0/attention/self/query/MatMul"). The head count, which the
// weights cannot tell, is read from the attention's Reshape constants, and
// LayerNorm ε from the graph.

// quantOps are operators that only appear in quantized graphs.
var quantOps = map[string]bool{
	"QuantizeLinear": true, "DequantizeLinear": true, "DynamicQuantizeLinear": true,
	"MatMulInteger": true, "QLinearMatMul": true, "MatMulNBits": true, "QAttention": true,
	"DynamicQuantizeMatMul": true, "QGemm": true, "MatMulIntegerToFloat": true,
}

// fusedOps are onnxruntime-optimized fusions whose weights no longer map to
// single HF parameters.
var fusedOps = map[string]bool{"Attention": true, "MultiHeadAttention": true, "EmbedLayerNormalization": true, "FusedMatMul": true}

// hfParam matches the parameter names of a BERT-family base model, with or
// without the "bert." prefix.
var hfParam = regexp.MustCompile(`^(bert\.)?(embeddings|encoder|pooler)\.[A-Za-z0-9_.]+\.(weight|bias)$`)

// ImportedBERT is a BERT encoder read back from an ONNX release.
type ImportedBERT struct {
	// Weights are HF BertModel parameters under the "bert." prefix.
	Weights map[string]*tensor.Tensor
	// Config is inferred from the weight shapes and the graph (heads, ε).
	Config *checkpoint.Config
}

// ImportBERT reads the fp32 initializers of the BERT-family ONNX model at
// path and maps them to Hugging Face names. Quantized and fused graphs, and
// weights that cannot be placed, are errors naming the file and the tensor.
func ImportBERT(path string) (*ImportedBERT, error) {
	g, err := readGraph(path)
	if err != nil {
		return nil, err
	}
	fail := func(format string, a ...any) error {
		return fmt.Errorf("onnx: %s: %s", path, fmt.Sprintf(format, a...))
	}
	for _, n := range g.nodes {
		if quantOps[n.op] {
			return nil, fail("quantized graph (%s node %q): import the fp32 release instead", n.op, n.name)
		}
		if fusedOps[n.op] {
			return nil, fail("optimized graph with fused %s node %q: import the unoptimized export", n.op, n.name)
		}
	}
	for _, name := range g.order {
		if t := g.inits[name]; t.dtype == onnxInt8 || t.dtype == onnxUint8 {
			return nil, fail("quantized graph (initializer %q is %s): import the fp32 release instead", name, onnxTypeName(t.dtype))
		}
	}
	producer := map[string]*nodeProto{}
	consumers := map[string][]*nodeProto{}
	for _, n := range g.nodes {
		for _, o := range n.out {
			producer[o] = n
		}
		for _, in := range n.in {
			consumers[in] = append(consumers[in], n)
		}
	}
	w := map[string]*tensor.Tensor{}
	from := map[string]string{}
	put := func(hf, init string, transpose bool) error {
		t := g.inits[init]
		vals, err := t.float32s()
		if err != nil {
			return fail("initializer %q: %v", init, err)
		}
		shape := make([]int, len(t.dims))
		for i, d := range t.dims {
			shape[i] = int(d)
		}
		x := &tensor.Tensor{Shape: shape, Data: vals}
		if transpose {
			if len(shape) != 2 {
				return fail("initializer %q feeds a MatMul but has dims %v", init, t.dims)
			}
			x = tensor.Transposed(x)
		}
		hf = "bert." + strings.TrimPrefix(hf, "bert.")
		if prev, dup := from[hf]; dup && prev != init {
			return fail("initializers %q and %q both map to %s", prev, init, hf)
		}
		w[hf], from[hf] = x, init
		return nil
	}
	for _, name := range g.order {
		t := g.inits[name]
		if t.dtype != onnxFloat && t.dtype != onnxFloat16 && t.dtype != onnxBFloat16 && t.dtype != onnxDouble {
			continue // shape constants
		}
		users := consumers[name]
		role, transpose := "", false
		for _, u := range users {
			switch {
			case u.op == "MatMul" && len(u.in) == 2 && u.in[1] == name:
				role, transpose = "matmul", true
			case u.op == "Gemm" && len(u.in) >= 2 && u.in[1] == name:
				role, transpose = "matmul", u.ints["transB"] == 0
			}
		}
		if role == "" {
			if len(users) == 0 {
				continue // unused (e.g. a pooler the export pruned)
			}
			if !hfParam.MatchString(name) {
				if n, err := t.numel(); err == nil && n <= 1 {
					continue // scalar constants stored as initializers (ε, √d)
				}
				return nil, fail("initializer %q (dims %v, used by %s) is not a BERT parameter", name, t.dims, users[0].op)
			}
			if err := put(name, name, false); err != nil {
				return nil, err
			}
			continue
		}
		module := ""
		if hfParam.MatchString(name) {
			module = strings.TrimSuffix(name, ".weight")
		} else {
			module = moduleOf(users, consumers, g)
		}
		if module == "" {
			return nil, fail("cannot tell which layer the weight %q (dims %v) belongs to: no bias is added to its MatMul and the node has no scope name", name, t.dims)
		}
		if err := put(module+".weight", name, transpose); err != nil {
			return nil, err
		}
	}
	hidden := 0
	if q := w["bert.encoder.layer.0.attention.self.query.weight"]; q != nil && len(q.Shape) == 2 {
		hidden = q.Shape[0]
	}
	heads, err := attentionHeads(g, producer, consumers, hidden)
	if err != nil {
		return nil, fail("%v", err)
	}
	cfg, err := checkpoint.BertConfigFromWeights(w, heads)
	if err != nil {
		return nil, fail("%v", err)
	}
	if eps, ok := layerNormEps(g, producer); ok {
		cfg.LayerNormEps = eps
	}
	cfg.Architectures = []string{"BertModel"}
	return &ImportedBERT{Weights: w, Config: cfg}, nil
}

// moduleOf names the Linear module of a MatMul weight: the bias added to
// the MatMul's output ("X.bias" → "X"), else the MatMul node's scope path.
func moduleOf(users []*nodeProto, consumers map[string][]*nodeProto, g *graphProto) string {
	for _, u := range users {
		if u.op != "MatMul" && u.op != "Gemm" {
			continue
		}
		if u.op == "Gemm" && len(u.in) == 3 && strings.HasSuffix(u.in[2], ".bias") {
			return strings.TrimSuffix(u.in[2], ".bias")
		}
		for _, c := range consumers[u.out[0]] {
			if c.op != "Add" {
				continue
			}
			for _, in := range c.in {
				if _, ok := g.inits[in]; ok && strings.HasSuffix(in, ".bias") {
					return strings.TrimSuffix(in, ".bias")
				}
			}
		}
		if scope := strings.Trim(u.name, "/"); strings.Contains(scope, "/") {
			scope = scope[:strings.LastIndex(scope, "/")]
			return strings.ReplaceAll(scope, "/", ".")
		}
	}
	return ""
}

// attentionHeads reads the head count from the Reshape that splits layer
// 0's query into heads: its target shape ends in (heads, head size), as
// constants of a Concat or of one Constant; one of the two may be -1
// (transformers ≥ 4.48 reshapes to (-1, head_dim)) and follows from hidden.
// 0 when the graph does not say.
func attentionHeads(g *graphProto, producer map[string]*nodeProto, consumers map[string][]*nodeProto, hidden int) (int, error) {
	for _, n := range g.nodes {
		if n.op != "Add" {
			continue
		}
		isQuery := false
		for _, in := range n.in {
			if strings.HasSuffix(in, "encoder.layer.0.attention.self.query.bias") {
				isQuery = true
			}
		}
		if !isQuery {
			continue
		}
		for _, c := range consumers[n.out[0]] {
			if c.op != "Reshape" || len(c.in) < 2 {
				continue
			}
			vals := constInts(c.in[1], g, producer)
			if len(vals) >= 2 {
				h, d := vals[len(vals)-2], vals[len(vals)-1]
				switch {
				case h > 0 && d > 0:
					return int(h), nil
				case h == -1 && d > 0 && hidden > 0 && hidden%int(d) == 0:
					return hidden / int(d), nil
				case d == -1 && h > 0:
					return int(h), nil
				}
			}
		}
	}
	return 0, nil
}

// constInts returns the known integer values that make up a shape input:
// a Constant or initializer, or a Concat of such pieces (unknown pieces are
// left out).
func constInts(name string, g *graphProto, producer map[string]*nodeProto) []int64 {
	if t, ok := g.inits[name]; ok {
		v, _ := t.ints()
		return v
	}
	p := producer[name]
	if p == nil {
		return nil
	}
	switch p.op {
	case "Constant":
		if p.value != nil {
			v, _ := p.value.ints()
			return v
		}
	case "Concat":
		var out []int64
		for _, in := range p.in {
			out = append(out, constInts(in, g, producer)...)
		}
		return out
	}
	return nil
}

// layerNormEps reads LayerNorm ε: a LayerNormalization node's epsilon, or the
// constant added to the variance before the Sqrt of a decomposed LayerNorm.
func layerNormEps(g *graphProto, producer map[string]*nodeProto) (float64, bool) {
	for _, n := range g.nodes {
		if n.op == "LayerNormalization" {
			if e, ok := n.floats["epsilon"]; ok {
				return shortestFloat(e), true
			}
			return 1e-5, true // the operator's default
		}
		if n.op != "Sqrt" {
			continue
		}
		add := producer[n.in[0]]
		if add == nil || add.op != "Add" {
			continue
		}
		for _, in := range add.in {
			var t *tensorProto
			if c := producer[in]; c != nil && c.op == "Constant" {
				t = c.value
			} else if it, ok := g.inits[in]; ok {
				t = it
			}
			if t == nil {
				continue
			}
			if v, err := t.float32s(); err == nil && len(v) == 1 {
				return shortestFloat(v[0]), true
			}
		}
	}
	return 0, false
}

// shortestFloat widens a float32 constant to the shortest decimal that
// rounds to it (1e-12, not 9.999999960041972e-13), as config.json states it.
func shortestFloat(f float32) float64 {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(float64(f), 'g', -1, 32), 64)
	return v
}
