package lora

import (
	"bytes"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/openmed/openmed/core/checkpoint"
	"github.com/openmed/openmed/core/model"
	"github.com/openmed/openmed/core/tensor"
	"github.com/openmed/openmed/internal/testutil"
	"github.com/openmed/openmed/training/loss"
	"github.com/openmed/openmed/training/optim"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func dot64(a, b []float32) float64 {
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}

// TestLoRALinearGradients checks dx, dA and dB of a LoRA Linear against
// finite differences, with and without LoRA dropout.
func TestLoRALinearGradients(t *testing.T) {
	for _, drop := range []float32{0, 0.3} {
		r := rand.New(rand.NewPCG(1, 2))
		n, in, out, rank := 6, 7, 5, 3
		base := model.NewLinear("m.query", in, out, true)
		for _, p := range base.Params() {
			for i := range p.Value.Data {
				p.Value.Data[i] = float32(r.NormFloat64() * 0.5)
			}
		}
		l := NewLinear("m.query", base, rank, 2, drop, 11)
		for i := range l.B.Value.Data { // B is zero at init; make the check meaningful
			l.B.Value.Data[i] = float32(r.NormFloat64() * 0.5)
		}
		l.SetTraining(true)
		x := make([]float32, n*in)
		w := make([]float32, n*out)
		for i := range x {
			x[i] = float32(r.NormFloat64())
		}
		for i := range w {
			w[i] = float32(r.NormFloat64())
		}
		y := make([]float32, n*out)
		lossFn := func() float64 {
			l.ResetCache()
			l.rng = 5
			l.Forward(y, x, n)
			return dot64(y, w)
		}
		lossFn()
		dx := make([]float32, n*in)
		l.Backward(dx, x, w, n, false)
		assert.Nil(t, base.Weight.Grad, "base must be frozen")
		for name, pr := range map[string][2][]float32{"x": {x, dx}, "A": {l.A.Value.Data, l.A.Grad.Data}, "B": {l.B.Value.Data, l.B.Grad.Data}} {
			res := tensor.GradCheck(lossFn, pr[0], pr[1], 1e-2, 0)
			assert.Less(t, res.MaxErr, 1e-2, "dropout=%v %s %+v", drop, name, res)
		}
	}
}

func TestInitAndTargets(t *testing.T) {
	base := model.NewLinear("x.value", 64, 32, true)
	l := NewLinear("x.value", base, 16, 2, 0, 3)
	bound := 1 / math.Sqrt(64)
	var maxA float64
	for _, v := range l.A.Value.Data {
		maxA = math.Max(maxA, math.Abs(float64(v)))
		require.LessOrEqual(t, math.Abs(float64(v)), bound)
	}
	assert.Greater(t, maxA, 0.9*bound, "kaiming_uniform(a=√5) spans ±1/√fan_in")
	for _, v := range l.B.Value.Data {
		require.Zero(t, v)
	}
	c := NewConfig()
	assert.True(t, c.Targets("bert.encoder.layer.0.attention.self.query"))
	assert.False(t, c.Targets("deberta.encoder.layer.0.attention.self.query_proj"))
	assert.False(t, c.Targets("bert.encoder.layer.0.attention.self.key"))
	assert.Equal(t, float32(1), c.Scaling())
	assert.InDelta(t, 8/math.Sqrt(16), float64(NewConfig(WithRank(16), WithRslora(true)).Scaling()), 1e-6)
}

func loadFixture(t *testing.T, arch, adapterDir string) (*model.Model, *Adapter, *loraFile, string) {
	shared := sharedDir(t)
	dir := filepath.Join(shared, "fixtures", arch)
	f := readLoraFile(t, filepath.Join(dir, "lora.json"))
	m, err := model.Load(dir, model.TokenClassification)
	require.NoError(t, err)
	a, err := Load(m, filepath.Join(dir, adapterDir))
	require.NoError(t, err)
	return m, a, f, dir
}

// TestPEFTFixtureParity reproduces lora.json: logits, label-smoothed loss,
// all 10 gradients, one torch AdamW step, logits after the step, merged
// layer-0 weights, and the adapter_step1 folder.
func TestPEFTFixtureParity(t *testing.T) {
	for _, arch := range []string{"bert", "electra", "deberta_v3"} {
		t.Run(arch, func(t *testing.T) {
			m, a, f, dir := loadFixture(t, arch, "adapter")
			b := f.batch()
			logits, err := m.Forward(b)
			require.NoError(t, err)
			// HF parity bar (DEVELOPERS.md): ~20× the √K·u·|logit| ≈ 5e-6 drift of two float32 sum orders (K ≈ 530 with LoRA, |logit| ≤ 3.1).
			assert.LessOrEqual(t, maxAbsDiff(t, f.Logits.Data, logits.Data), 1e-4, "logits")
			n, c := b.Tokens(), logits.Shape[2]
			dl := make([]float32, len(logits.Data))
			lv, cnt := loss.CrossEntropy(logits.Data, n, c, f.Inputs.Labels.I32(), 0.1, dl)
			require.Positive(t, cnt)
			// The mean CE over 24 tokens averages the logits' independent drifts (|∂CE/∂logits|₁ ≤ 2 per token): ~2e-6.
			assert.InDelta(t, f.Loss, float64(lv), 1e-5, "label-smoothed loss")
			m.ZeroGrad()
			require.NoError(t, m.Backward(dl))

			byKey := map[string]*tensor.Param{}
			for _, p := range a.TrainableParams() {
				byKey[checkpoint.AdapterPrefix+p.Name] = p
			}
			var order []string
			for _, p := range a.TrainableParams() {
				order = append(order, checkpoint.AdapterPrefix+p.Name)
			}
			assert.Equal(t, f.TrainableKeys, order, "named_parameters order")
			for _, k := range f.TrainableKeys {
				p := byKey[k]
				require.NotNil(t, p, k)
				assert.LessOrEqual(t, maxAbsDiff(t, f.InitialParams[k].Data, p.Value.Data), 0.0, "initial %s", k)
				d := maxAbsDiff(t, f.Grads[k].Data, p.Grad.Data)
				assert.LessOrEqual(t, d, 1e-4, "grad %s", k) // HF gradient parity bar (DEVELOPERS.md): the backward doubles K, ~10× its √K·u drift
			}

			// merged_layer0 (initial).
			prefix := m.Arch.Prefix() + ".encoder.layer.0.attention.self."
			for name, want := range f.MergedLayer0.Initial {
				l := a.Layers[prefix+name]
				require.NotNil(t, l, name)
				merged := l.Base.Weight.Value.Clone()
				tensor.AddInPlace(merged.Data, l.DeltaWeight().Data)
				// B@A (K = r), scaling and add round r+2 times here and in torch.
				assert.LessOrEqual(t, maxAbsDiff(t, want.Data, merged.Data), testutil.ReorderTol(l.Rank()+2)*magnitude(want.Data), "merged %s", name)
			}

			// One AdamW step with the fixture's single param group (decay on all 10 tensors).
			for _, p := range a.TrainableParams() {
				p.NoDecay = false
			}
			opt, err := optim.NewAdamW(a.TrainableParams(), optim.WithLR(f.Optimizer.LR),
				optim.WithBetas(f.Optimizer.Betas[0], f.Optimizer.Betas[1]), optim.WithEps(f.Optimizer.Eps), optim.WithWeightDecay(f.Optimizer.WeightDecay))
			require.NoError(t, err)
			opt.Step()
			_, step1, err := checkpoint.LoadAdapter(filepath.Join(dir, "adapter_step1"))
			require.NoError(t, err)
			// Step 1 of AdamW moves each value by lr·g/(|g|+ε) ≈ ±lr whatever the
			// ≤ 1e-4 gradient drift; the same float32 elementwise operations as
			// torch leave a few roundings of |p| ≲ 1 (≈ 2e-7).
			for _, k := range f.TrainableKeys {
				assert.LessOrEqual(t, maxAbsDiff(t, f.UpdatedParams[k].Data, byKey[k].Value.Data), 1e-6, "updated %s", k)
				want := make([]float64, len(step1[k].Data))
				for i, v := range step1[k].Data {
					want[i] = float64(v)
				}
				assert.LessOrEqual(t, maxAbsDiff(t, want, byKey[k].Value.Data), 1e-6, "adapter_step1 %s", k)
			}
			logits, err = m.Forward(b)
			require.NoError(t, err)
			assert.LessOrEqual(t, maxAbsDiff(t, f.LogitsAfterStep.Data, logits.Data), 1e-4, "logits after step") // HF parity bar, as above
			lv, _ = loss.CrossEntropy(logits.Data, n, c, f.Inputs.Labels.I32(), 0.1, nil)
			assert.InDelta(t, f.LossAfterStep, float64(lv), 1e-5) // mean CE over 24 tokens, as above
			for name, want := range f.MergedLayer0.AfterStep {
				l := a.Layers[prefix+name]
				merged := l.Base.Weight.Value.Clone()
				tensor.AddInPlace(merged.Data, l.DeltaWeight().Data)
				// r+2 roundings on each side, as above.
				assert.LessOrEqual(t, maxAbsDiff(t, want.Data, merged.Data), testutil.ReorderTol(l.Rank()+2)*magnitude(want.Data), "merged after step %s", name)
			}
		})
	}
}

// TestAdapterStep1Folder loads adapter_step1 and reproduces logits_after_step.
func TestAdapterStep1Folder(t *testing.T) {
	m, _, f, _ := loadFixture(t, "bert", "adapter_step1")
	logits, err := m.Forward(f.batch())
	require.NoError(t, err)
	assert.LessOrEqual(t, maxAbsDiff(t, f.LogitsAfterStep.Data, logits.Data), 1e-4) // HF parity bar, as in TestPEFTFixtureParity
}

// TestMergeUnmerge checks that a merged model gives the LoRA logits and
// unmerging restores the base weights.
func TestMergeUnmerge(t *testing.T) {
	m, a, f, _ := loadFixture(t, "electra", "adapter")
	b := f.batch()
	logits, err := m.Forward(b)
	require.NoError(t, err)
	want := logits.Clone()
	l := a.Layers["electra.encoder.layer.1.attention.self.value"]
	orig := l.Base.Weight.Value.Clone()
	a.Merge()
	assert.True(t, l.Merged())
	logits, err = m.Forward(b)
	require.NoError(t, err)
	wd := make([]float64, len(want.Data))
	for i, v := range want.Data {
		wd[i] = float64(v)
	}
	// Everything but the adapted projections runs the same kernels and
	// shapes; each adapted layer's W+s·B·A (merged) vs x·W + s·(x·A)·B adds
	// the down-projection (K = hidden), the up-projection and B@A (K = r)
	// and the scale-and-add: their reordering bound, relative to the logits.
	var red []int
	for _, ll := range a.Layers {
		red = append(red, ll.InFeatures(), ll.Rank(), 2)
	}
	tol := testutil.ReorderTol(red...) * magnitude(wd)
	t.Logf("merged vs unmerged: max |Δlogit| %.3g, tolerance %.3g", maxAbsDiff(t, wd, logits.Data), tol)
	assert.LessOrEqual(t, maxAbsDiff(t, wd, logits.Data), tol)
	sd := m.StateDict()
	for k := range sd {
		assert.NotContains(t, k, "lora_")
	}
	mergedW := make([]float64, len(orig.Data))
	for i, v := range l.Base.Weight.Value.Data {
		mergedW[i] = float64(v)
	}
	a.Unmerge()
	od := make([]float64, len(orig.Data))
	for i, v := range orig.Data {
		od[i] = float64(v)
	}
	// W + δ − δ with the same δ (same kernel, same shape): two float32
	// roundings of the weights' magnitude.
	assert.LessOrEqual(t, maxAbsDiff(t, od, l.Base.Weight.Value.Data), 2*testutil.F32Roundoff*magnitude(mergedW))
}

// TestSaveReproducesPEFTLayout saves the loaded adapter and checks the keys
// and values against the fixture folder and the config fields PEFT writes.
func TestSaveReproducesPEFTLayout(t *testing.T) {
	for _, arch := range []string{"bert", "electra", "deberta_v3"} {
		_, a, _, dir := loadFixture(t, arch, "adapter")
		out := t.TempDir()
		require.NoError(t, a.Save(out, arch))
		_, want, err := checkpoint.LoadAdapter(filepath.Join(dir, "adapter"))
		require.NoError(t, err)
		cfg, got, err := checkpoint.LoadAdapter(out)
		require.NoError(t, err)
		assert.Equal(t, sortedKeys(want), sortedKeys(got), arch)
		for k, w := range want {
			assert.Equal(t, w.Data, got[k].Data, k)
		}
		wantCfg, err := checkpoint.LoadAdapterConfig(filepath.Join(dir, "adapter"))
		require.NoError(t, err)
		assert.Equal(t, wantCfg.R, cfg.R)
		assert.Equal(t, wantCfg.LoraAlpha, cfg.LoraAlpha)
		assert.ElementsMatch(t, wantCfg.TargetModules, cfg.TargetModules)
		assert.Equal(t, wantCfg.ModulesToSave, cfg.ModulesToSave)
		assert.Equal(t, wantCfg.TaskType, cfg.TaskType)
		assert.Equal(t, wantCfg.Bias, cfg.Bias)
		assert.Equal(t, arch, cfg.BaseModelNameOrPath)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestTrainableCountBERTBase checks the paper-scale count: LoRA r=16 on
// query/value of BERT-base plus a 5-label classifier.
func TestTrainableCountBERTBase(t *testing.T) {
	cfg := &checkpoint.Config{ModelType: checkpoint.ModelBERT, VocabSize: 30522, HiddenSize: 768, NumHiddenLayers: 12,
		NumAttentionHeads: 12, IntermediateSize: 3072, HiddenAct: "gelu", MaxPositionEmbeddings: 512, TypeVocabSize: 2,
		LayerNormEps: 1e-12, InitializerRange: 0.02, ID2Label: map[int]string{0: "O", 1: "B", 2: "I", 3: "B2", 4: "I2"}}
	m, err := model.New(cfg, model.TokenClassification, 1)
	require.NoError(t, err)
	a, err := Apply(m, NewConfig(WithRank(16), WithAlpha(32)))
	require.NoError(t, err)
	total, trainable, pct := a.Count()
	wantTrainable := 12*2*(16*768+768*16) + 5*768 + 5
	assert.Equal(t, wantTrainable, trainable)
	// HF BertModel without pooler has 108,891,648 values; the classifier is in wantTrainable.
	assert.Equal(t, 108891648+wantTrainable, total)
	t.Logf("trainable %d / %d = %.3f%%", trainable, total, pct)
	assert.InDelta(t, 0.545, pct, 0.01)
}

func TestLoadErrors(t *testing.T) {
	shared := sharedDir(t)
	m, err := model.Load(filepath.Join(shared, "fixtures", "bert"), model.TokenClassification)
	require.NoError(t, err)
	_, err = Load(m, filepath.Join(shared, "fixtures", "bert"))
	assert.ErrorContains(t, err, "adapter_config.json")
	_, err = Apply(m, NewConfig(WithTargets("nonexistent")))
	assert.ErrorContains(t, err, "match no module")

	// An adapter trained with bias="all" is refused rather than half-loaded.
	src := filepath.Join(shared, "fixtures", "bert", "adapter")
	dir := t.TempDir()
	cfgBytes, err := os.ReadFile(filepath.Join(src, "adapter_config.json"))
	require.NoError(t, err)
	cfgBytes = bytes.Replace(cfgBytes, []byte(`"bias": "none"`), []byte(`"bias": "all"`), 1)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "adapter_config.json"), cfgBytes, 0o644))
	st, err := os.ReadFile(filepath.Join(src, "adapter_model.safetensors"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "adapter_model.safetensors"), st, 0o644))
	m2, err := model.Load(filepath.Join(shared, "fixtures", "bert"), model.TokenClassification)
	require.NoError(t, err)
	_, err = Load(m2, dir)
	assert.ErrorContains(t, err, "bias")
}

// magnitude is max(1, max |x|): the scale of a tolerance relative to x.
func magnitude(x []float64) float64 {
	m := 1.0
	for _, v := range x {
		m = math.Max(m, math.Abs(v))
	}
	return m
}
