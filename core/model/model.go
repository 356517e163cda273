package model

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"

	"github.com/openmed/openmed/core/checkpoint"
	"github.com/openmed/openmed/core/tensor"
)

// Arch is the encoder family of a checkpoint (config.json model_type).
type Arch int

const (
	// BERT is BertModel (model_type "bert"; PubMedBERT, BioBERT, …).
	BERT Arch = iota
	// ELECTRA is ElectraModel (model_type "electra"; BioELECTRA, …).
	ELECTRA
	// DeBERTaV2 is DebertaV2Model (model_type "deberta-v2"; DeBERTa-v3 and
	// its biomedical variants), relative attention with log buckets.
	DeBERTaV2
)

// Prefix is the HF base-model attribute name ("bert", "electra") that
// prefixes encoder parameter names in task-model checkpoints.
func (a Arch) Prefix() string {
	switch a {
	case ELECTRA:
		return "electra"
	case DeBERTaV2:
		return "deberta"
	}
	return "bert"
}

// TokenClassificationClass is the transformers class a token-classification
// checkpoint of this family is saved as (config.json "architectures"), e.g.
// "BertForTokenClassification".
func (a Arch) TokenClassificationClass() string {
	switch a {
	case ELECTRA:
		return "ElectraForTokenClassification"
	case DeBERTaV2:
		return "DebertaV2ForTokenClassification"
	}
	return "BertForTokenClassification"
}

// Task selects the head on top of the encoder.
type Task int

const (
	// TokenClassification is XxxForTokenClassification: dropout + Linear
	// (the paper's BIO tagging head).
	TokenClassification Task = iota
	// MaskedLM is BertForMaskedLM's head, or ElectraForMaskedLM's generator
	// head (for domain-adaptive pre-training).
	MaskedLM
)

// Model is an encoder with one head, with parameters named as the HF
// checkpoint's state_dict. It is not safe for concurrent use.
type Model struct {
	Config  *checkpoint.Config
	Arch    Arch
	Task    Task
	Encoder *Encoder
	// ClassifierDropout and Classifier form the token-classification head.
	ClassifierDropout Dropout
	Classifier        Projection
	// MLM is the masked-LM head (Task == MaskedLM).
	MLM *MLMHead

	train  bool
	rng    uint64
	hidden []float32
	logits *tensor.Tensor
	dh     []float32
	batch  *Batch
	slots  []ProjectionSlot

	// gathered-MLM buffers (mlm_gather.go)
	positions           []int
	gathered, dgathered []float32
}

// archOf maps a config's model_type to an Arch.
func archOf(cfg *checkpoint.Config) (Arch, error) {
	switch cfg.ModelType {
	case checkpoint.ModelBERT, checkpoint.ModelRoberta:
		if cfg.ModelType == checkpoint.ModelRoberta {
			return 0, fmt.Errorf("model: model_type %q is not supported yet (bert, electra)", cfg.ModelType)
		}
		return BERT, nil
	case checkpoint.ModelElectra:
		return ELECTRA, nil
	case checkpoint.ModelDebertaV2:
		return DeBERTaV2, nil
	}
	return 0, fmt.Errorf("model: model_type %q is not supported yet (bert, electra, deberta-v2)", cfg.ModelType)
}

func validate(cfg *checkpoint.Config) error {
	switch {
	case cfg.HiddenSize <= 0 || cfg.NumHiddenLayers <= 0 || cfg.NumAttentionHeads <= 0 || cfg.IntermediateSize <= 0 || cfg.VocabSize <= 0:
		return fmt.Errorf("model: config needs positive hidden_size, num_hidden_layers, num_attention_heads, intermediate_size, vocab_size (got %d, %d, %d, %d, %d)",
			cfg.HiddenSize, cfg.NumHiddenLayers, cfg.NumAttentionHeads, cfg.IntermediateSize, cfg.VocabSize)
	case cfg.HiddenSize%cfg.NumAttentionHeads != 0:
		return fmt.Errorf("model: hidden_size %d is not a multiple of num_attention_heads %d", cfg.HiddenSize, cfg.NumAttentionHeads)
	case cfg.MaxPositionEmbeddings <= 0:
		return fmt.Errorf("model: max_position_embeddings must be positive, got %d", cfg.MaxPositionEmbeddings)
	}
	return nil
}

// build allocates the model's layers with zero weights.
func build(cfg *checkpoint.Config, task Task) (*Model, error) {
	if err := validate(cfg); err != nil {
		return nil, err
	}
	arch, err := archOf(cfg)
	if err != nil {
		return nil, err
	}
	act, err := tensor.ParseActivation(string(cfg.HiddenAct))
	if err != nil {
		return nil, fmt.Errorf("config hidden_act: %w", err)
	}
	if arch == DeBERTaV2 {
		return buildDeberta(cfg, task, act)
	}
	p := arch.Prefix()
	H, E := cfg.HiddenSize, cfg.EmbeddingDim()
	eps := float32(cfg.LayerNormEps)
	if eps == 0 {
		eps = 1e-12
	}
	hd := float32(cfg.HiddenDropoutProb)
	emb := newEmbeddings(p+".embeddings", cfg.VocabSize, cfg.MaxPositionEmbeddings, cfg.TypeVocabSize, E, eps, int32(cfg.PadTokenID))
	emb.Dropout.P = hd
	if E != H {
		if arch != ELECTRA {
			return nil, fmt.Errorf("model: embedding_size %d != hidden_size %d is only supported for electra", E, H)
		}
		emb.Project = NewLinear(p+".embeddings_project", E, H, true)
	}
	enc := &Encoder{Embeddings: emb, hidden: H}
	enc.Layers = newLayers(cfg, p, "", eps, act, func(q, k, v Projection) Attention {
		return &SelfAttention{Query: q, Key: k, Value: v, NumHeads: cfg.NumAttentionHeads,
			ProbsDropout: float32(cfg.AttentionProbsDropoutProb)}
	})
	return newModel(cfg, arch, task, enc, eps, act)
}

// newModel puts task's head on enc: dropout (hidden_dropout_prob) and the
// linear classifier over the config's labels, or the family's masked-LM head
// tied to the word embeddings.
func newModel(cfg *checkpoint.Config, arch Arch, task Task, enc *Encoder, eps float32, act tensor.Activation) (*Model, error) {
	m := &Model{Config: cfg, Arch: arch, Task: task, Encoder: enc}
	H := cfg.HiddenSize
	switch task {
	case TokenClassification:
		nl := cfg.NumLabels()
		if nl == 0 {
			return nil, fmt.Errorf("model: config has no id2label/label2id: cannot size the token-classification head")
		}
		m.ClassifierDropout.P = float32(cfg.HiddenDropoutProb)
		m.Classifier = NewLinear("classifier", H, nl, true)
	case MaskedLM:
		m.MLM = newMLMHead(arch, H, cfg.EmbeddingDim(), eps, act, enc.Embeddings.Word, cfg.VocabSize)
	default:
		return nil, fmt.Errorf("model: task %d is not supported for %s", task, cfg.ModelType)
	}
	return m, nil
}

// New builds a model with Hugging Face's from-scratch initialisation
// (PreTrainedModel._init_weights for BERT/ELECTRA): Linear and Embedding
// weights N(0, initializer_range²), biases 0, LayerNorm weight 1 / bias 0,
// the padding_idx row of the word embeddings zero. seed fixes the weights
// and the dropout RNG.
func New(cfg *checkpoint.Config, task Task, seed uint64) (*Model, error) {
	m, err := build(cfg, task)
	if err != nil {
		return nil, err
	}
	initParams(m.Params(), cfg, seed)
	m.rng = seed
	return m, nil
}

// initParams applies HF _init_weights to ps (see New).
func initParams(ps []*tensor.Param, cfg *checkpoint.Config, seed uint64) {
	std := cfg.InitializerRange
	if std == 0 {
		std = 0.02
	}
	r := rand.New(rand.NewPCG(seed, 0x6f70656e6d6564))
	for _, p := range ps {
		switch {
		case isLayerNorm(p.Name) && strings.HasSuffix(p.Name, ".weight"):
			for i := range p.Value.Data {
				p.Value.Data[i] = 1
			}
		case strings.HasSuffix(p.Name, ".bias"):
			clear(p.Value.Data)
		default:
			for i := range p.Value.Data {
				p.Value.Data[i] = float32(r.NormFloat64() * std)
			}
			if strings.HasSuffix(p.Name, "word_embeddings.weight") {
				pad, dim := cfg.PadTokenID, p.Value.Shape[1]
				if pad >= 0 && pad < p.Value.Shape[0] {
					clear(p.Value.Data[pad*dim : (pad+1)*dim])
				}
			}
		}
	}
}

func isLayerNorm(name string) bool { return strings.Contains(name, "LayerNorm.") }

// Params lists every parameter (encoder, then head) with HF names. Frozen
// parameters have a nil Grad.
func (m *Model) Params() []*tensor.Param {
	ps := m.Encoder.Params()
	if m.Classifier != nil {
		ps = append(ps, m.Classifier.Params()...)
	}
	if m.MLM != nil {
		ps = append(ps, m.MLM.Params()...)
	}
	return ps
}

// TrainableParams lists the parameters that receive gradients.
func (m *Model) TrainableParams() []*tensor.Param {
	var out []*tensor.Param
	for _, p := range m.Params() {
		if p.Grad != nil {
			out = append(out, p)
		}
	}
	return out
}

// StateDict maps HF state_dict keys to values (tied weights appear once,
// under the embedding's name, as save_pretrained writes them). Adapter
// parameters (LoRA) are left out: they are saved by core/lora.
func (m *Model) StateDict() map[string]*tensor.Tensor {
	sd := map[string]*tensor.Tensor{}
	for _, p := range m.Params() {
		if strings.Contains(p.Name, ".lora_") {
			continue
		}
		sd[p.Name] = p.Value
	}
	return sd
}

// SetTraining switches dropout on (training) or off (eval, HF model.eval()).
func (m *Model) SetTraining(train bool) { m.train = train }

// CacheBF16Weights gives every frozen projection (plain or inside a LoRA
// wrapper) a bfloat16 copy of its weight for bf16 inference
// (Linear.CacheBF16): about 2 bytes per encoder parameter on top of the fp32
// weights. The tagger's Go engine calls it under tensor.BF16.
func (m *Model) CacheBF16Weights() {
	for _, s := range m.projections() {
		if c, ok := (*s.Slot).(interface{ CacheBF16() }); ok {
			c.CacheBF16()
		}
	}
}

// SetShareScratch makes inference passes (Forward outside training mode)
// hold one layer's activations instead of every layer's: each layer hands
// its per-call buffers (attention q/k/v/probs/context, FFN activations,
// residual sums) to the next once its output exists. BERT-base at 8×256
// windows keeps ~140 MB per layer, ~1.7 GB for 12 layers, without it. After
// such a pass only the layers' outputs and the logits are valid (no
// Backward, no per-layer attention probabilities); training-mode passes are
// unaffected. The tagger's Go engine sets it.
func (m *Model) SetShareScratch(on bool) { m.Encoder.shareScratch = on }

// InferenceMode switches to evaluation (no dropout) with shared scratch
// buffers (SetShareScratch) until restore runs, which puts both settings
// back: how a training loop's dev/test evaluation and held-out scoring run
// their eval batches (32 × 256 tokens) on one layer's activations instead of
// every layer's — BERT-base kept about 6.7 GB for the evaluation batches
// otherwise. No Backward between the two.
func (m *Model) InferenceMode() (restore func()) {
	train, share := m.train, m.Encoder.shareScratch
	m.SetTraining(false)
	m.SetShareScratch(true)
	return func() {
		m.SetTraining(train)
		m.SetShareScratch(share)
	}
}

// Training reports whether dropout is active.
func (m *Model) Training() bool { return m.train }

// Seed re-seeds the dropout RNG.
func (m *Model) Seed(seed uint64) { m.rng = seed }

// FreezeAll drops every parameter's gradient buffer (nothing trainable).
func (m *Model) FreezeAll() {
	for _, p := range m.Params() {
		p.Grad = nil
	}
}

// ZeroGrad clears the gradients of trainable parameters.
func (m *Model) ZeroGrad() {
	for _, p := range m.Params() {
		if p.Grad != nil {
			p.Grad.Zero()
		}
	}
}

// NumParams counts all parameter values (tied tensors once) and the trainable ones.
func (m *Model) NumParams() (total, trainable int) {
	for _, p := range m.Params() {
		total += p.Value.Numel()
		if p.Grad != nil {
			trainable += p.Value.Numel()
		}
	}
	return total, trainable
}

// Forward runs the encoder and the head and returns the logits
// ([B, L, num_labels] or [B, L, vocab]); the tensor is owned by m and
// overwritten by the next call.
func (m *Model) Forward(b *Batch) (*tensor.Tensor, error) {
	if err := b.Validate(); err != nil {
		return nil, err
	}
	m.prepareSlots()
	h, err := m.Encoder.Forward(b, m.train, &m.rng)
	if err != nil {
		return nil, err
	}
	m.batch = b
	n := b.Tokens()
	H := m.Config.HiddenSize
	switch {
	case m.Classifier != nil:
		m.hidden = grow(m.hidden, n*H)
		m.ClassifierDropout.Forward(m.hidden, h, m.train, &m.rng)
		c := m.Classifier.OutFeatures()
		m.logits = tensor.Resize(m.logits, b.Batch, b.SeqLen, c)
		m.Classifier.Forward(m.logits.Data, m.hidden, n)
	case m.MLM != nil:
		out := m.MLM.Forward(h, n)
		m.logits = tensor.Resize(m.logits, b.Batch, b.SeqLen, m.MLM.vocab)
		copy(m.logits.Data, out)
	}
	return m.logits, nil
}

// LastHidden returns the encoder's last hidden state of the last Forward ([tokens, hidden]).
func (m *Model) LastHidden() []float32 {
	hs := m.Encoder.HiddenStates()
	return hs[len(hs)-1]
}

// Backward takes dL/dlogits (same layout as Forward's result; not modified)
// and accumulates gradients into every trainable parameter.
func (m *Model) Backward(dlogits []float32) error {
	if m.batch == nil {
		return fmt.Errorf("model: Backward called before Forward")
	}
	n := m.batch.Tokens()
	H := m.Config.HiddenSize
	if want := len(m.logits.Data); len(dlogits) != want {
		return fmt.Errorf("model: dlogits has %d values, want %d", len(dlogits), want)
	}
	m.dh = grow(m.dh, n*H)
	switch {
	case m.Classifier != nil:
		m.Classifier.Backward(m.dh, m.hidden, dlogits, n, false)
		m.ClassifierDropout.Backward(m.dh, m.dh)
	case m.MLM != nil:
		m.MLM.Backward(m.dh, dlogits, n)
	}
	m.Encoder.Backward(m.dh)
	return nil
}

// ProjectionSlot names a replaceable Projection of the model (for LoRA).
type ProjectionSlot struct {
	// Name is the HF module path, e.g. "bert.encoder.layer.0.attention.self.query".
	Name string
	// Slot points at the field holding the projection.
	Slot *Projection
}

func (m *Model) projections() []ProjectionSlot {
	var out []ProjectionSlot
	e := m.Encoder
	p := m.Arch.Prefix()
	if e.Embeddings.Project != nil {
		out = append(out, ProjectionSlot{p + ".embeddings_project", &e.Embeddings.Project})
	}
	for i, l := range e.Layers {
		lp := fmt.Sprintf("%s.encoder.layer.%d", p, i)
		out = append(out, l.Attention.Slots(lp+".attention.self")...)
		out = append(out,
			ProjectionSlot{lp + ".attention.output.dense", &l.AttnOut},
			ProjectionSlot{lp + ".intermediate.dense", &l.Inter},
			ProjectionSlot{lp + ".output.dense", &l.Out},
		)
	}
	if m.Classifier != nil {
		out = append(out, ProjectionSlot{"classifier", &m.Classifier})
	}
	if m.MLM != nil {
		name := "cls.predictions.transform.dense"
		switch m.Arch {
		case ELECTRA:
			name = "generator_predictions.dense"
		case DeBERTaV2:
			name = "lm_predictions.lm_head.dense"
		}
		out = append(out, ProjectionSlot{name, &m.MLM.Transform})
	}
	return out
}

// Projections lists every Projection slot with its HF module path, in
// named_modules order, so adapters can wrap them by name.
func (m *Model) Projections() []ProjectionSlot { return m.projections() }

// LoadStateDict copies weights into the model by HF name. Encoder keys may
// carry the task model's prefix ("bert."/"electra.") or not (base-model
// checkpoints). Missing encoder keys are an error; missing head keys leave
// the head at its current (initialised) values and are returned, as HF
// reports "newly initialized" weights. Unused keys are returned too.
func (m *Model) LoadStateDict(sd map[string]*tensor.Tensor) (missingHead, unused []string, err error) {
	used := map[string]bool{}
	prefix := m.Arch.Prefix() + "."
	for _, p := range m.Params() {
		if strings.Contains(p.Name, ".lora_") {
			continue
		}
		t, key := sd[p.Name], p.Name
		if t == nil && strings.HasPrefix(p.Name, prefix) {
			key = strings.TrimPrefix(p.Name, prefix)
			t = sd[key]
		}
		if t == nil {
			if alt := debertaMLMAlias(p.Name); alt != "" && sd[alt] != nil {
				t, key = sd[alt], alt
			}
		}
		if t == nil {
			if strings.HasPrefix(p.Name, prefix) {
				return nil, nil, fmt.Errorf("model: checkpoint has no %q", p.Name)
			}
			missingHead = append(missingHead, p.Name)
			continue
		}
		if !sameShape(t.Shape, p.Value.Shape) {
			return nil, nil, fmt.Errorf("model: %s has shape %v in the checkpoint, the config needs %v", key, t.Shape, p.Value.Shape)
		}
		copy(p.Value.Data, t.Data)
		used[key] = true
	}
	for k := range sd {
		if !used[k] {
			unused = append(unused, k)
		}
	}
	sort.Strings(unused)
	return missingHead, unused, nil
}

func sameShape(a, b []int) bool {
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

// Load builds a model from a Hugging Face folder: config.json plus weights
// through checkpoint.LoadWeights (safetensors, sharded safetensors or
// pytorch_model.bin). task is chosen by the caller; head weights missing from
// the checkpoint (a base or pre-trained encoder fine-tuned for NER) are
// initialised as in New (seed 0), as HF from_pretrained does.
func Load(dir string, task Task) (*Model, error) {
	cfg, err := checkpoint.LoadConfig(dir)
	if err != nil {
		return nil, err
	}
	m, err := build(cfg, task)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	sd, err := checkpoint.LoadWeights(dir)
	if err != nil {
		return nil, err
	}
	missing, _, err := m.LoadStateDict(sd)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	if len(missing) > 0 {
		want := map[string]bool{}
		for _, k := range missing {
			want[k] = true
		}
		var ps []*tensor.Param
		for _, p := range m.Params() {
			if want[p.Name] {
				ps = append(ps, p)
			}
		}
		initParams(ps, cfg, 0)
	}
	return m, nil
}
