package onnx

import (
	"fmt"
	"sort"
	"strings"

	"github.com/openmed/openmed/core/checkpoint"
	"github.com/openmed/openmed/core/tensor"
)

// LoRAUpdate is one Linear module's LoRA update kept apart from the base
// weight: y = x·Wᵀ + b + Scaling·(x·Aᵀ)·Bᵀ (PEFT lora.Linear.forward in eval
// mode, dropout the identity).
type LoRAUpdate struct {
	// A is lora_A.weight [r, in]; B is lora_B.weight [out, r].
	A, B *tensor.Tensor
	// Scaling is lora_alpha/r (or lora_alpha/√r with rsLoRA).
	Scaling float64
}

// Branch is one adapter of a shared-base graph (BuildShared): its LoRA
// updates, keyed by the HF module path of the base's canonical state_dict
// (e.g. "bert.encoder.layer.0.attention.self.query"), and its own
// token-classification head.
type Branch struct {
	// Name names the branch's output (SharedOutputName).
	Name string
	// LoRA maps module paths to their updates, added at run time over the
	// shared base weights (BuildShared's tiled form).
	LoRA map[string]LoRAUpdate
	// Weights maps state_dict keys to this branch's own values (its LoRA
	// merged into the weights it touches: BuildShared's per-branch form);
	// the keys it does not name are the base's, shared.
	Weights map[string]*tensor.Tensor
	// Classifier is classifier.weight [num_labels, hidden]; ClassifierBias
	// is classifier.bias [num_labels].
	Classifier, ClassifierBias *tensor.Tensor
}

// SharedOutputPrefix starts every output name of a shared-base graph.
const SharedOutputPrefix = OutputLogits + "."

// SharedOutputName is the name of branch name's logits output in a
// shared-base graph: "logits.<name>".
func SharedOutputName(name string) string { return SharedOutputPrefix + name }

// sharedLoRA is one module's updates of every branch, stacked for a batched
// MatMul: a [K, in, rmax] holds each Aᵀ, b [K, rmax, out] each Scaling·Bᵀ; a
// branch without the module, or with a smaller rank, has zero rows there,
// which adds exactly nothing.
type sharedLoRA struct {
	k, in, out, r int
	a, b          []float32
}

// BuildShared builds one graph that runs several LoRA adapters of one base
// (the paper's swappable adapters) in one ONNX Runtime session, with the
// embeddings computed once and every weight the adapters leave alone held
// once. Two forms, chosen by the branches:
//
//   - tiled (branches carry LoRA): the hidden states are tiled to K·batch
//     rows (branch k owns rows k·batch … k·batch+batch−1), every Linear runs
//     its base weight once over all rows and adds each branch's own update
//     with a batched MatMul over the K blocks, and each branch's head reads
//     its block. All layer weights are held once; each update costs
//     r·(in+out) multiply-adds per token at run time.
//   - per-branch (branches carry Weights, their LoRA merged in): each
//     branch runs its own encoder stack over the shared embeddings, with its
//     merged weights and the base's for the rest (one initializer each). No
//     run-time cost over separate merged models; the embeddings and the
//     untouched weights are held once.
//
// Either way the result equals K merged exports (BuildTokenClassifier of
// each merge_and_unload) up to float32 rounding of where the update is
// added. Inputs are those of BuildTokenClassifier; there is one output per
// branch, SharedOutputName(branch.Name), float32 [batch_size,
// sequence_length, num_labels of the branch]. cfg gives the encoder's sizes
// (its id2label is not used) and state the base's canonical state_dict (no
// head needed). BERT and ELECTRA only: DeBERTa's attention reuses the
// query/key projections on the relative-position embeddings, which a
// per-branch update would have to follow; the caller falls back to merged
// exports.
func BuildShared(cfg *checkpoint.Config, state map[string]*tensor.Tensor, branches []Branch) (*Builder, error) {
	if cfg == nil {
		return nil, fmt.Errorf("onnx: nil config")
	}
	if len(branches) == 0 {
		return nil, fmt.Errorf("onnx: shared-base export needs at least one branch")
	}
	if cfg.ModelType != checkpoint.ModelBERT && cfg.ModelType != checkpoint.ModelElectra {
		return nil, fmt.Errorf("onnx: shared-base export supports %q and %q, not %q", checkpoint.ModelBERT, checkpoint.ModelElectra, cfg.ModelType)
	}
	tiled, perBranch := false, false
	seen := map[string]bool{}
	for k, br := range branches {
		if br.Name == "" || seen[br.Name] {
			return nil, fmt.Errorf("onnx: shared-base export: branch %d: empty or repeated name %q", k, br.Name)
		}
		seen[br.Name] = true
		tiled = tiled || len(br.LoRA) > 0
		perBranch = perBranch || len(br.Weights) > 0
	}
	if tiled && perBranch {
		return nil, fmt.Errorf("onnx: shared-base export: branches carry both LoRA updates and merged weights; use one form")
	}
	c := *cfg
	c.ID2Label = map[int]string{0: "O"} // sizes only; each branch has its own head
	d, err := bertDimsFrom(&c)
	if err != nil {
		return nil, err
	}
	w := &weights{m: state}
	b := NewBuilder(d.prefix + "_token_classification_shared")
	ids, mask, types := tokenInputs(b, d)
	x := bertEmbeddings(b, w, d, ids, types)
	ext := extendedMask(b, mask)
	if perBranch {
		for _, br := range branches {
			wk, err := branchWeights(state, br)
			if err != nil {
				return nil, err
			}
			h := x
			for l := 0; l < d.layers; l++ {
				h = bertLayer(b, wk, d, l, h, ext)
			}
			if err := wk.err(string(cfg.ModelType)); err != nil {
				return nil, err
			}
			if err := branchHead(b, d, br, ids, h); err != nil {
				return nil, err
			}
		}
		if err := w.err(string(cfg.ModelType)); err != nil {
			return nil, err
		}
		return b, b.Err()
	}
	if w.shared, err = stackBranches(branches, state); err != nil {
		return nil, err
	}
	K := int64(len(branches))
	b.SetScope("/branches")
	x = b.Op("Tile", []string{x, b.ConstInt64([]int64{K, 1, 1}, 3)})
	ext = b.Op("Tile", []string{ext, b.ConstInt64([]int64{K, 1, 1, 1}, 4)})
	for l := 0; l < d.layers; l++ {
		x = bertLayer(b, w, d, l, x, ext)
	}
	if len(w.used) != len(w.shared) {
		var left []string
		for m := range w.shared {
			if !w.used[m] {
				left = append(left, m)
			}
		}
		sort.Strings(left)
		return nil, fmt.Errorf("onnx: shared-base export: LoRA on modules the graph has no Linear for: %s", strings.Join(left, ", "))
	}
	blocks := b.Reshape(x, K, -1, int64(d.hidden)) // [K, batch·seq, hidden]
	for k, br := range branches {
		h := b.Gather(blocks, b.ScalarInt64(int64(k)), 0) // [batch·seq, hidden]
		if err := branchHead(b, d, br, ids, h); err != nil {
			return nil, err
		}
	}
	if err := w.err(string(cfg.ModelType)); err != nil {
		return nil, err
	}
	return b, b.Err()
}

// branchWeights is the weights view of one per-branch branch: the base's
// state with the branch's own values, which get initializer names
// "<branch>/<key>".
func branchWeights(state map[string]*tensor.Tensor, br Branch) (*weights, error) {
	m := make(map[string]*tensor.Tensor, len(state))
	for k, v := range state {
		m[k] = v
	}
	names := map[string]string{}
	for key, v := range br.Weights {
		base := state[key]
		if base == nil || v == nil || !equalShape(base.Shape, v.Shape) {
			return nil, fmt.Errorf("onnx: shared-base export: branch %q: weight %s does not replace a base weight of the same shape", br.Name, key)
		}
		m[key] = v
		module := strings.TrimSuffix(strings.TrimSuffix(key, ".weight"), ".bias")
		names[module] = br.Name + "/" + module
	}
	return &weights{m: m, names: names}, nil
}

// branchHead applies branch br's classifier to h ([batch, seq, hidden] or
// [batch·seq, hidden]) and declares its output [batch, seq, labels].
func branchHead(b *Builder, d bertDims, br Branch, ids, h string) error {
	b.SetScope("/" + br.Name + "/classifier")
	if br.Classifier == nil || br.ClassifierBias == nil || len(br.Classifier.Shape) != 2 || br.Classifier.Shape[1] != d.hidden ||
		len(br.ClassifierBias.Shape) != 1 || br.ClassifierBias.Shape[0] != br.Classifier.Shape[0] {
		return fmt.Errorf("onnx: shared-base export: branch %q: want classifier.weight [num_labels %d] and classifier.bias [num_labels]", br.Name, d.hidden)
	}
	labels := br.Classifier.Shape[0]
	logits := b.Linear(h,
		b.WeightTransposed(br.Name+"/classifier.weight", br.Classifier),
		b.Weight(br.Name+"/classifier.bias", br.ClassifierBias))
	shape := b.Op("Concat", []string{b.Shape(ids), b.ConstInt64([]int64{int64(labels)}, 1)}, IntAttr("axis", 0))
	logits = b.Op("Reshape", []string{logits, shape})
	b.Output(logits, SharedOutputName(br.Name), Float, Symbolic(AxisBatch), Symbolic(AxisSequence), Fixed(int64(labels)))
	return nil
}

// stackBranches checks each branch's updates against the base weights and
// stacks them per module.
func stackBranches(branches []Branch, state map[string]*tensor.Tensor) (map[string]*sharedLoRA, error) {
	out := map[string]*sharedLoRA{}
	K := len(branches)
	for _, br := range branches {
		for module, u := range br.LoRA {
			w := state[module+".weight"]
			if w == nil || len(w.Shape) != 2 {
				return nil, fmt.Errorf("onnx: shared-base export: branch %q: LoRA module %s has no weight in the base", br.Name, module)
			}
			outDim, in := w.Shape[0], w.Shape[1]
			if u.A == nil || u.B == nil || len(u.A.Shape) != 2 || len(u.B.Shape) != 2 || u.A.Shape[1] != in || u.B.Shape[0] != outDim || u.A.Shape[0] != u.B.Shape[1] {
				return nil, fmt.Errorf("onnx: shared-base export: branch %q: module %s: lora_A %v and lora_B %v do not fit weight %v", br.Name, module, shapeOf(u.A), shapeOf(u.B), w.Shape)
			}
			s := out[module]
			if s == nil {
				s = &sharedLoRA{k: K, in: in, out: outDim}
				out[module] = s
			}
			s.r = max(s.r, u.A.Shape[0])
		}
	}
	for module, s := range out {
		s.a = make([]float32, s.k*s.in*s.r)
		s.b = make([]float32, s.k*s.r*s.out)
		for k, br := range branches {
			u, ok := br.LoRA[module]
			if !ok {
				continue
			}
			r := u.A.Shape[0]
			for i := 0; i < r; i++ {
				for j := 0; j < s.in; j++ { // a[k, j, i] = A[i, j]
					s.a[(k*s.in+j)*s.r+i] = u.A.Data[i*s.in+j]
				}
				for o := 0; o < s.out; o++ { // b[k, i, o] = Scaling·B[o, i]
					s.b[(k*s.r+i)*s.out+o] = float32(u.Scaling * float64(u.B.Data[o*r+i]))
				}
			}
		}
	}
	return out, nil
}

func shapeOf(t *tensor.Tensor) []int {
	if t == nil {
		return nil
	}
	return t.Shape
}

// addShared adds the branches' LoRA updates of module to y = base(x), x
// being [K·batch, seq, in]: Reshape to [K, batch·seq, in], two batched
// MatMuls with the stacked Aᵀ and Scaling·Bᵀ, Reshape back to y's shape.
func addShared(b *Builder, s *sharedLoRA, module, x, y string) string {
	xk := b.Reshape(x, int64(s.k), -1, int64(s.in))
	a := b.Initializer(FloatTensor(module+".lora_A.shared", s.a, int64(s.k), int64(s.in), int64(s.r)))
	bb := b.Initializer(FloatTensor(module+".lora_B.shared", s.b, int64(s.k), int64(s.r), int64(s.out)))
	delta := b.MatMul(b.MatMul(xk, a), bb)
	return b.Add(y, b.Op("Reshape", []string{delta, b.Shape(y)}))
}
