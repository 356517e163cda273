package onnx

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/openmed/openmed/core/checkpoint"
	"github.com/openmed/openmed/core/tensor"
)

// Names of the graph's inputs, output and dynamic axes, as HF Optimum exports
// token-classification models (optimum/exporters/onnx/model_configs.py,
// BertOnnxConfig: input_ids, attention_mask, token_type_ids → logits).
const (
	InputIDs        = "input_ids"
	AttentionMask   = "attention_mask"
	TokenTypeIDs    = "token_type_ids"
	OutputLogits    = "logits"
	AxisBatch       = "batch_size"
	AxisSequence    = "sequence_length"
	defaultLayerEps = 1e-12 // BertConfig.layer_norm_eps default
)

// maskFill is torch.finfo(torch.float32).min, the value HF's
// get_extended_attention_mask adds at masked key positions:
// (1 − mask) · finfo.min.
const maskFill = -math.MaxFloat32

// weights looks up HF state_dict keys and remembers every missing one, so a
// checkpoint that does not fit the config fails with the full list at once.
type weights struct {
	m       map[string]*tensor.Tensor
	missing []string
	// shared holds the stacked LoRA updates of a shared-base graph
	// (BuildShared) by module path; used marks those linear applied.
	shared map[string]*sharedLoRA
	used   map[string]bool
	// names renames the initializers of some modules (a merged branch's
	// own weights in a shared graph: "<branch>/<module>"); others keep
	// their state_dict key and are shared.
	names map[string]string
}

// name is the initializer name of module key's weights.
func (w *weights) name(key string) string {
	if n, ok := w.names[key]; ok {
		return n
	}
	return key
}

func (w *weights) get(key string, shape ...int) *tensor.Tensor {
	t, ok := w.m[key]
	if !ok {
		w.missing = append(w.missing, key)
		return nil
	}
	if len(shape) > 0 && !equalShape(t.Shape, shape) {
		w.missing = append(w.missing, fmt.Sprintf("%s (shape %v, config wants %v)", key, t.Shape, shape))
		return nil
	}
	return t
}

func (w *weights) err(arch string) error {
	if len(w.missing) == 0 {
		return nil
	}
	sort.Strings(w.missing)
	return fmt.Errorf("onnx: %s checkpoint does not match config.json: missing or mis-shaped weights: %s",
		arch, strings.Join(w.missing, ", "))
}

func equalShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// bertDims are the sizes a BERT/ELECTRA graph needs, checked up front.
type bertDims struct {
	prefix                        string // "bert" or "electra"
	vocab, hidden, emb, inter     int
	heads, headDim, layers, types int
	maxPos, labels                int
	eps                           float32
	act                           checkpoint.Activation
}

func bertDimsFrom(cfg *checkpoint.Config) (bertDims, error) {
	d := bertDims{
		vocab: cfg.VocabSize, hidden: cfg.HiddenSize, emb: cfg.EmbeddingDim(), inter: cfg.IntermediateSize,
		heads: cfg.NumAttentionHeads, layers: cfg.NumHiddenLayers, types: cfg.TypeVocabSize,
		maxPos: cfg.MaxPositionEmbeddings, labels: cfg.NumLabels(), eps: float32(cfg.LayerNormEps), act: cfg.HiddenAct,
	}
	switch cfg.ModelType {
	case checkpoint.ModelBERT:
		d.prefix = "bert"
		d.emb = cfg.HiddenSize // BERT has no embedding_size
	case checkpoint.ModelElectra:
		d.prefix = "electra"
	case checkpoint.ModelDebertaV2:
		d.prefix = "deberta"
	default:
		return d, fmt.Errorf("onnx: config.json model_type %q: export supports %q, %q and %q",
			cfg.ModelType, checkpoint.ModelBERT, checkpoint.ModelElectra, checkpoint.ModelDebertaV2)
	}
	if d.eps == 0 {
		d.eps = defaultLayerEps
		if cfg.ModelType == checkpoint.ModelDebertaV2 {
			d.eps = 1e-7 // DebertaV2Config.layer_norm_eps default
		}
	}
	if raw := cfg.Raw("position_embedding_type"); raw != nil && strings.Trim(string(raw), `" `) != "absolute" {
		return d, fmt.Errorf("onnx: config.json position_embedding_type %s: only \"absolute\" is supported", raw)
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"vocab_size", d.vocab}, {"hidden_size", d.hidden}, {"intermediate_size", d.inter},
		{"num_attention_heads", d.heads}, {"num_hidden_layers", d.layers},
		{"max_position_embeddings", d.maxPos}, {"id2label (num_labels)", d.labels}} {
		if f.v <= 0 {
			return d, fmt.Errorf("onnx: config.json %s = %d: must be positive", f.name, f.v)
		}
	}
	if d.hidden%d.heads != 0 {
		return d, fmt.Errorf("onnx: config.json hidden_size %d is not a multiple of num_attention_heads %d", d.hidden, d.heads)
	}
	d.headDim = d.hidden / d.heads
	return d, nil
}

// BuildTokenClassifier builds the ONNX graph of a BertForTokenClassification,
// ElectraForTokenClassification (transformers modeling_bert.py /
// modeling_electra.py, eval mode) or DebertaV2ForTokenClassification
// (DeBERTa-v3, see buildDebertaV2) model from its config and state_dict.
// For BERT and ELECTRA:
//
//	embeddings = LN(word[input_ids] + token_type[token_type_ids] + position[0..L))
//	(ELECTRA: embeddings_project Linear when embedding_size ≠ hidden_size)
//	each layer: softmax(QKᵀ/√d + (1−mask)·finfo.min)·V → dense → LN(+residual)
//	            → intermediate → act → output dense → LN(+residual)
//	logits = classifier(hidden)
//
// Position ids come from Range(0, sequence_length), so any length up to
// max_position_embeddings runs. Inputs are int64 [batch_size, sequence_length];
// the output "logits" is float32 [batch_size, sequence_length, num_labels].
func BuildTokenClassifier(cfg *checkpoint.Config, state map[string]*tensor.Tensor) (*Builder, error) {
	if cfg == nil {
		return nil, fmt.Errorf("onnx: nil config")
	}
	d, err := bertDimsFrom(cfg)
	if err != nil {
		return nil, err
	}
	if cfg.ModelType == checkpoint.ModelDebertaV2 {
		return buildDebertaV2(cfg, d, state)
	}
	w := &weights{m: state}
	b := NewBuilder(d.prefix + "_token_classification")
	ids, mask, types := tokenInputs(b, d)

	x := bertEmbeddings(b, w, d, ids, types)
	ext := extendedMask(b, mask)
	for l := 0; l < d.layers; l++ {
		x = bertLayer(b, w, d, l, x, ext)
	}
	return finishClassifier(b, w, d, string(cfg.ModelType), x)
}

// tokenInputs declares the graph inputs input_ids, attention_mask and, when
// the encoder has token types, token_type_ids (int64 [batch_size,
// sequence_length]); types is "" without them.
func tokenInputs(b *Builder, d bertDims) (ids, mask, types string) {
	batch, seq := Symbolic(AxisBatch), Symbolic(AxisSequence)
	ids = b.Input(InputIDs, Int64, batch, seq)
	mask = b.Input(AttentionMask, Int64, batch, seq)
	if d.types > 0 {
		types = b.Input(TokenTypeIDs, Int64, batch, seq)
	}
	return ids, mask, types
}

// finishClassifier applies the token-classification head (dropout is the
// identity in eval mode, then classifier Linear) and declares the logits output.
func finishClassifier(b *Builder, w *weights, d bertDims, arch, x string) (*Builder, error) {
	b.SetScope("/classifier")
	logits := linear(b, w, "classifier", x, d.labels, d.hidden)
	if err := w.err(arch); err != nil {
		return nil, err
	}
	b.Output(logits, OutputLogits, Float, Symbolic(AxisBatch), Symbolic(AxisSequence), Fixed(int64(d.labels)))
	return b, b.Err()
}

// bertEmbeddings is BertEmbeddings.forward (+ ELECTRA's embeddings_project).
func bertEmbeddings(b *Builder, w *weights, d bertDims, ids, types string) string {
	p := d.prefix + ".embeddings."
	b.SetScope("/" + d.prefix + "/embeddings")
	x := b.Gather(b.Weight(p+"word_embeddings.weight", w.get(p+"word_embeddings.weight", d.vocab, d.emb)), ids, 0)
	if types != "" {
		tt := b.Gather(b.Weight(p+"token_type_embeddings.weight", w.get(p+"token_type_embeddings.weight", d.types, d.emb)), types, 0)
		x = b.Add(x, tt)
	}
	positions := b.Range(b.ScalarInt64(0), b.Dim(ids, 1), b.ScalarInt64(1))
	pos := b.Gather(b.Weight(p+"position_embeddings.weight", w.get(p+"position_embeddings.weight", d.maxPos, d.emb)), positions, 0)
	x = b.Add(x, pos)
	x = b.LayerNorm(x,
		b.Weight(p+"LayerNorm.weight", w.get(p+"LayerNorm.weight", d.emb)),
		b.Weight(p+"LayerNorm.bias", w.get(p+"LayerNorm.bias", d.emb)), d.eps)
	if d.prefix == "electra" && d.emb != d.hidden {
		k := "electra.embeddings_project."
		b.SetScope("/electra/embeddings_project")
		x = b.Linear(x,
			b.WeightTransposed(k+"weight", w.get(k+"weight", d.hidden, d.emb)),
			b.Weight(k+"bias", w.get(k+"bias", d.hidden)))
	}
	return x
}

// extendedMask is ModuleUtilsMixin.get_extended_attention_mask for an encoder:
// mask[:, None, None, :] turned into (1 − mask) · finfo(float32).min.
func extendedMask(b *Builder, mask string) string {
	b.SetScope("/extended_attention_mask")
	m := b.Unsqueeze(b.Cast(mask, Float), 1, 2)
	return b.Mul(b.Sub(b.ScalarFloat(1), m), b.ScalarFloat(maskFill))
}

// linear adds the transposed weight and bias of HF Linear module key and
// applies it, plus the branches' LoRA updates of key in a shared-base graph.
func linear(b *Builder, w *weights, key string, x string, out, in int) string {
	n := w.name(key)
	y := b.Linear(x,
		b.WeightTransposed(n+".weight", w.get(key+".weight", out, in)),
		b.Weight(n+".bias", w.get(key+".bias", out)))
	if s := w.shared[key]; s != nil {
		if w.used == nil {
			w.used = map[string]bool{}
		}
		w.used[key] = true
		y = addShared(b, s, key, x, y)
	}
	return y
}

// layerNorm applies HF LayerNorm module key.
func layerNorm(b *Builder, w *weights, key string, x string, n int, eps float32) string {
	return b.LayerNorm(x,
		b.Weight(key+".weight", w.get(key+".weight", n)),
		b.Weight(key+".bias", w.get(key+".bias", n)), eps)
}

// bertLayer is BertLayer.forward (BertAttention + BertIntermediate + BertOutput).
func bertLayer(b *Builder, w *weights, d bertDims, l int, x, ext string) string {
	p := fmt.Sprintf("%s.encoder.layer.%d.", d.prefix, l)
	scope := fmt.Sprintf("/%s/encoder/layer.%d", d.prefix, l)
	nh, hd := int64(d.heads), int64(d.headDim)

	b.SetScope(scope + "/attention/self")
	heads := func(name string, perm ...int64) string {
		y := linear(b, w, p+"attention.self."+name, x, d.hidden, d.hidden)
		return b.Transpose(b.Reshape(y, 0, 0, nh, hd), perm...)
	}
	q := heads("query", 0, 2, 1, 3) // [B, nh, L, hd]
	k := heads("key", 0, 2, 3, 1)   // [B, nh, hd, L]
	v := heads("value", 0, 2, 1, 3) // [B, nh, L, hd]
	scores := b.Div(b.MatMul(q, k), b.ScalarFloat(float32(math.Sqrt(float64(d.headDim)))))
	probs := b.Softmax(b.Add(scores, ext), -1)
	ctx := b.Reshape(b.Transpose(b.MatMul(probs, v), 0, 2, 1, 3), 0, 0, int64(d.hidden))
	return layerTail(b, w, d, p, scope, ctx, x)
}

// layerTail is the part of a BERT/ELECTRA/DeBERTa layer after the attention
// context: SelfOutput (dense, LN(+x)), Intermediate (dense, act) and Output
// (dense, LN(+residual)). p is the layer's state_dict prefix.
func layerTail(b *Builder, w *weights, d bertDims, p, scope, ctx, x string) string {
	b.SetScope(scope + "/attention/output")
	a := linear(b, w, p+"attention.output.dense", ctx, d.hidden, d.hidden)
	a = layerNorm(b, w, p+"attention.output.LayerNorm", b.Add(a, x), d.hidden, d.eps)

	b.SetScope(scope + "/intermediate")
	h := activation(b, d.act, linear(b, w, p+"intermediate.dense", a, d.inter, d.hidden))

	b.SetScope(scope + "/output")
	o := linear(b, w, p+"output.dense", h, d.hidden, d.inter)
	return layerNorm(b, w, p+"output.LayerNorm", b.Add(o, a), d.hidden, d.eps)
}

// activation applies HF ACT2FN[hidden_act].
func activation(b *Builder, act checkpoint.Activation, x string) string {
	switch act {
	case checkpoint.ActGELU, "":
		return b.GeluErf(x)
	case checkpoint.ActGELUNew, "gelu_pytorch_tanh":
		return b.GeluTanh(x)
	case checkpoint.ActReLU:
		return b.Relu(x)
	case "silu", "swish":
		return b.Silu(x)
	}
	b.fail("config.json hidden_act %q is not supported (gelu, gelu_new, gelu_pytorch_tanh, relu, silu)", act)
	return x
}
