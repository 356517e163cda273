package model

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/openmed/openmed/core/checkpoint"
	"github.com/openmed/openmed/core/tensor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const gcTol = 1e-2

func randFill(r *rand.Rand, s []float32, scale float64) {
	for i := range s {
		s[i] = float32(r.NormFloat64() * scale)
	}
}

// randVec returns n values drawn N(0, scale²) from r.
func randVec(r *rand.Rand, n int, scale float64) []float32 {
	s := make([]float32, n)
	randFill(r, s, scale)
	return s
}

// checkInputGrads checks each named analytic gradient (value, gradient)
// against central differences of loss.
func checkInputGrads(t *testing.T, loss func() float64, grads map[string][2][]float32) {
	t.Helper()
	for name, pr := range grads {
		res := tensor.GradCheck(loss, pr[0], pr[1], 1e-2, 0)
		assert.Less(t, res.MaxErr, gcTol, "%s %+v", name, res)
	}
}

func dot64(a, b []float32) float64 {
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}

func TestLinearGradients(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	n, in, out := 5, 6, 4
	l := NewLinear("lin", in, out, true)
	randFill(r, l.Weight.Value.Data, 0.5)
	randFill(r, l.Bias.Value.Data, 0.5)
	x, w := randVec(r, n*in, 1), randVec(r, n*out, 1)
	y := make([]float32, n*out)
	loss := func() float64 { l.Forward(y, x, n); return dot64(y, w) }
	loss()
	dx := make([]float32, n*in)
	l.Backward(dx, x, w, n, false)
	checkInputGrads(t, loss, map[string][2][]float32{"x": {x, dx}, "weight": {l.Weight.Value.Data, l.Weight.Grad.Data}, "bias": {l.Bias.Value.Data, l.Bias.Grad.Data}})
	// accumulate=true adds to dx: the same product (same kernel, same shape)
	// added to itself, which is exact.
	dx2 := append([]float32(nil), dx...)
	l.Backward(dx2, x, w, n, true)
	for i := range dx {
		assert.Equal(t, 2*dx[i], dx2[i], "dx[%d]", i)
	}
	// Frozen weights get no gradient buffer touched.
	l.Weight.Grad, l.Bias.Grad = nil, nil
	assert.False(t, l.HasTrainable())
	l.Backward(dx, x, w, n, false)
}

func TestLayerNormLayerGradients(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 2))
	n, d := 4, 8
	ln := NewLayerNorm("ln", d, 1e-12)
	randFill(r, ln.Weight.Value.Data, 1)
	randFill(r, ln.Bias.Value.Data, 1)
	x, w := randVec(r, n*d, 2), randVec(r, n*d, 1)
	y := make([]float32, n*d)
	loss := func() float64 { ln.Forward(y, x, n); return dot64(y, w) }
	loss()
	dx := make([]float32, n*d)
	ln.Backward(dx, x, w, n)
	checkInputGrads(t, loss, map[string][2][]float32{"x": {x, dx}, "weight": {ln.Weight.Value.Data, ln.Weight.Grad.Data}, "bias": {ln.Bias.Value.Data, ln.Bias.Grad.Data}})
}

func TestAttentionGradientsWithMask(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	L, H, nh := 5, 8, 2
	a := &SelfAttention{Query: NewLinear("q", H, H, true), Key: NewLinear("k", H, H, true), Value: NewLinear("v", H, H, true), NumHeads: nh}
	for _, p := range a.Params() {
		randFill(r, p.Value.Data, 0.5)
	}
	x, w, b := attnInputs(r, H, []float32{1, 1, 1, 1, 1, 1, 1, 1, 0, 0})
	var rng uint64
	loss := func() float64 { return dot64(a.Forward(x, b, false, &rng), w) }
	loss()
	// Padded keys get zero probability, padded queries are computed normally.
	P := a.Probs()
	for h := 0; h < nh; h++ {
		for i := 0; i < L; i++ {
			assert.Zero(t, P[((1*nh+h)*L+i)*L+3])
			assert.Zero(t, P[((1*nh+h)*L+i)*L+4])
		}
	}
	checkAttentionGradients(t, a, nil, x, w, loss)
}

// attnInputs draws an attention input x [tokens, H] and loss weights w (the
// loss is Σ w·context) for a batch of two sequences with the given mask.
func attnInputs(r *rand.Rand, H int, mask []float32) (x, w []float32, b *Batch) {
	n := len(mask)
	x, w = randVec(r, n*H, 1), randVec(r, n*H, 1)
	return x, w, &Batch{Batch: 2, SeqLen: n / 2, InputIDs: make([]int32, n), AttentionMask: mask}
}

// checkAttentionGradients runs a's Backward for loss = Σ w·a.Forward(x)
// (after a forward by loss) and checks dL/dx and every parameter of a (and
// of rel, with rel.Backward, when not nil) against central differences.
func checkAttentionGradients(t *testing.T, a Attention, rel *RelEmbeddings, x, w []float32, loss func() float64) {
	t.Helper()
	H := a.Params()[0].Value.Shape[1]
	n := len(x) / H
	dx := make([]float32, n*H)
	ws := &workspace{}
	ws.ensure(n, H, H)
	a.Backward(dx, append([]float32(nil), w...), ws)
	ps := a.Params()
	if rel != nil {
		rel.Backward()
		ps = append(ps, rel.Params()...)
	}
	res := tensor.GradCheck(loss, x, dx, 1e-2, 0)
	assert.Less(t, res.MaxErr, gcTol, "x %+v", res)
	for _, p := range ps {
		checkGrad(t, p, tensor.GradCheck(loss, p.Value.Data, p.Grad.Data, 1e-2, 0))
	}
}

func tinyConfig(act string, embSize int) *checkpoint.Config {
	mt := checkpoint.ModelBERT
	if embSize > 0 {
		mt = checkpoint.ModelElectra
	}
	return &checkpoint.Config{
		ModelType: mt, VocabSize: 17, HiddenSize: 8, NumHiddenLayers: 2, NumAttentionHeads: 2,
		IntermediateSize: 12, HiddenAct: checkpoint.Activation(act), MaxPositionEmbeddings: 10, TypeVocabSize: 2,
		LayerNormEps: 1e-12, InitializerRange: 0.3, EmbeddingSize: embSize,
		HiddenDropoutProb: 0.2, AttentionProbsDropoutProb: 0.2,
		ID2Label: map[int]string{0: "O", 1: "B-X", 2: "I-X"},
	}
}

func tinyBatch() *Batch {
	return &Batch{Batch: 2, SeqLen: 6,
		InputIDs:      []int32{2, 5, 7, 9, 16, 3, 2, 4, 4, 3, 0, 0},
		TokenTypeIDs:  []int32{0, 0, 0, 1, 1, 1, 0, 0, 1, 1, 0, 0},
		AttentionMask: []float32{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0}}
}

// tinyLabels are labels for tinyBatch: BIO tags, or masked-LM targets.
func tinyLabels(task Task) []int32 {
	if task == MaskedLM {
		return []int32{-100, 5, -100, 9, -100, -100, -100, 11, -100, 3, -100, -100}
	}
	return []int32{-100, 1, 2, 0, 1, -100, -100, 0, 2, -100, -100, -100}
}

// checkModelGradients perturbs m's LayerNorm and bias parameters, as the
// fixtures do, so every term matters, then checks every parameter's gradient
// of the label-smoothed loss on b against finite differences in training
// mode with dropout active (fixed seed per evaluation).
func checkModelGradients(t *testing.T, m *Model, b *Batch, labels []int32) {
	t.Helper()
	r := rand.New(rand.NewPCG(4, 4))
	for _, p := range m.Params() {
		if isLayerNorm(p.Name) || len(p.Value.Shape) == 1 {
			for i := range p.Value.Data {
				p.Value.Data[i] += float32(r.NormFloat64() * 0.1)
			}
		}
	}
	m.SetTraining(true)
	loss := func() float64 {
		m.Seed(99)
		logits, err := m.Forward(b)
		require.NoError(t, err)
		l, _ := refCrossEntropy(logits.Data, logits.Shape[2], labels, 0.1)
		return l
	}
	m.Seed(99)
	logits, err := m.Forward(b)
	require.NoError(t, err)
	_, dl := refCrossEntropy(logits.Data, logits.Shape[2], labels, 0.1)
	m.ZeroGrad()
	require.NoError(t, m.Backward(dl))
	for _, p := range m.Params() {
		checkGrad(t, p, tensor.GradCheck(loss, p.Value.Data, p.Grad.Data, 1e-2, 40))
	}
}

// TestFullModelGradients checks every parameter of tiny BERT and ELECTRA
// token classifiers (and the MLM head) against finite differences, in
// training mode with dropout active (fixed seed per evaluation).
func TestFullModelGradients(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  *checkpoint.Config
		task Task
	}{
		{"bert-gelu", tinyConfig("gelu", 0), TokenClassification},
		{"electra-gelu_new", tinyConfig("gelu_new", 6), TokenClassification},
		{"bert-mlm", tinyConfig("gelu", 0), MaskedLM},
		{"electra-generator-mlm", tinyConfig("gelu", 6), MaskedLM},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := New(tc.cfg, tc.task, 7)
			require.NoError(t, err)
			checkModelGradients(t, m, tinyBatch(), tinyLabels(tc.task))
		})
	}
}

// TestFrozenEncoderSkipsWork checks that with only the classifier trainable
// no encoder gradient is formed, and that parameter grads stay nil.
func TestFrozenEncoderSkipsWork(t *testing.T) {
	m, err := New(tinyConfig("gelu", 0), TokenClassification, 1)
	require.NoError(t, err)
	m.FreezeAll()
	cls := m.Classifier.(*Linear)
	cls.Weight.Grad = tensor.New(cls.Weight.Value.Shape...)
	logits, err := m.Forward(tinyBatch())
	require.NoError(t, err)
	_, dl := refCrossEntropy(logits.Data, 3, []int32{0, 1, 2, 0, 1, 2, 0, 1, 2, 0, -100, -100}, 0)
	require.NoError(t, m.Backward(dl))
	total, trainable := m.NumParams()
	assert.Equal(t, cls.Weight.Value.Numel(), trainable)
	assert.Greater(t, total, trainable)
	assert.Nil(t, m.Encoder.ws.dq, "no attention backward ran")
	var nz bool
	for _, v := range cls.Weight.Grad.Data {
		nz = nz || v != 0
	}
	assert.True(t, nz)
}

func TestBadInputsReturnErrors(t *testing.T) {
	m, err := New(tinyConfig("gelu", 0), TokenClassification, 1)
	require.NoError(t, err)
	b := tinyBatch()
	b.InputIDs[3] = 17
	_, err = m.Forward(b)
	assert.ErrorContains(t, err, "index 17 at position 3")
	b = tinyBatch()
	b.InputIDs = b.InputIDs[:5]
	_, err = m.Forward(b)
	assert.ErrorContains(t, err, "input_ids has 5 values")
	long := &Batch{Batch: 1, SeqLen: 11, InputIDs: make([]int32, 11)}
	_, err = m.Forward(long)
	assert.ErrorContains(t, err, "max_position_embeddings 10")
	cfg := tinyConfig("swish2", 0)
	_, err = New(cfg, TokenClassification, 1)
	assert.ErrorContains(t, err, "hidden_act")
	cfg = tinyConfig("gelu", 0)
	cfg.NumAttentionHeads = 3
	_, err = New(cfg, TokenClassification, 1)
	assert.ErrorContains(t, err, "multiple of num_attention_heads")
	assert.Error(t, m.Backward(make([]float32, 3)))
}

func TestNewFollowsHFInit(t *testing.T) {
	cfg := tinyConfig("gelu", 0)
	cfg.VocabSize, cfg.HiddenSize, cfg.IntermediateSize = 200, 64, 64
	cfg.InitializerRange = 0.02
	m, err := New(cfg, TokenClassification, 3)
	require.NoError(t, err)
	for _, p := range m.Params() {
		switch {
		case isLayerNorm(p.Name) && len(p.Value.Shape) == 1 && p.Name[len(p.Name)-6:] == "weight":
			assert.Equal(t, float32(1), p.Value.Data[0], p.Name)
		case len(p.Value.Shape) == 1:
			assert.Zero(t, p.Value.Data[0], p.Name)
		}
	}
	w := m.Encoder.Embeddings.Word.Value.Data
	for j := 0; j < 64; j++ {
		require.Zero(t, w[j], "padding row")
	}
	var s, q float64
	for _, v := range w[64:] {
		s += float64(v)
		q += float64(v) * float64(v)
	}
	cnt := float64(len(w) - 64)
	assert.InDelta(t, 0, s/cnt, 0.002)
	assert.InDelta(t, 0.02, sqrt(q/cnt), 0.002)
	names := map[string]bool{}
	for _, p := range m.Params() {
		assert.False(t, names[p.Name], "duplicate %s", p.Name)
		names[p.Name] = true
	}
	assert.True(t, names["bert.encoder.layer.1.attention.self.query.weight"])
	assert.True(t, names["classifier.bias"])
	assert.Len(t, m.StateDict(), len(names))
	_ = fmt.Sprint
}

// checkGrad asserts a GradCheck result; a gradient that is zero in exact
// arithmetic (attention key bias: softmax is shift invariant) has only
// rounding noise numerically, so it is compared in absolute terms.
func checkGrad(t *testing.T, p *tensor.Param, res tensor.GradCheckResult) {
	t.Helper()
	if res.Scale < 2e-4 {
		for _, g := range p.Grad.Data {
			require.Less(t, abs32(g), float32(1e-4), "%s: numeric gradient ~0 (%g) but analytic %g", p.Name, res.Scale, g)
		}
		return
	}
	assert.Less(t, res.MaxErr, gcTol, "%s %+v", p.Name, res)
}

func abs32(x float32) float32 {
	if x < 0 {
		return -x
	}
	return x
}

func TestElectraGeneratorHeadNames(t *testing.T) {
	m, err := New(tinyConfig("gelu_new", 6), MaskedLM, 1)
	require.NoError(t, err)
	shapes := map[string][]int{}
	for _, p := range m.Params() {
		shapes[p.Name] = p.Value.Shape
	}
	assert.Equal(t, []int{6, 8}, shapes["generator_predictions.dense.weight"])
	assert.Equal(t, []int{6}, shapes["generator_predictions.LayerNorm.weight"])
	assert.Equal(t, []int{17}, shapes["generator_lm_head.bias"])
	assert.NotContains(t, shapes, "generator_lm_head.weight", "tied to electra.embeddings.word_embeddings.weight")
	assert.Equal(t, tensor.GELU, m.MLM.Act, "ElectraGeneratorPredictions always uses exact gelu")
	logits, err := m.Forward(tinyBatch())
	require.NoError(t, err)
	assert.Equal(t, []int{2, 6, 17}, logits.Shape)
}
