package lora

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/openmed/openmed/core/checkpoint"
	"github.com/openmed/openmed/core/model"
	"github.com/openmed/openmed/internal/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// loraFixture is the part of lora.json the merge tests use.
type loraFixture struct {
	Inputs struct {
		InputIDs      jArray `json:"input_ids"`
		AttentionMask jArray `json:"attention_mask"`
		TokenTypeIDs  jArray `json:"token_type_ids"`
	} `json:"inputs"`
	Logits       jArray `json:"logits"`
	MergedLayer0 struct {
		Initial map[string]jArray `json:"initial"`
	} `json:"merged_layer0"`
}

func loadLoraFixture(t *testing.T, dir string) *loraFixture {
	raw, err := os.ReadFile(filepath.Join(dir, "lora.json"))
	require.NoError(t, err)
	var f loraFixture
	require.NoError(t, json.Unmarshal(raw, &f))
	require.NotEmpty(t, f.MergedLayer0.Initial)
	return &f
}

// TestMergeFixtureAdapter merges the fixture adapter onto the fixture BERT:
// layer-0 query/value equal lora.json's merged_layer0 (HF/PEFT
// get_delta_weight) within float32 rounding, and the merged folder, loaded
// by model.Load, reproduces the LoRA model's logits.
func TestMergeFixtureAdapter(t *testing.T) {
	fx := filepath.Join(sharedDir(t), "fixtures", "bert")
	lf := loadLoraFixture(t, fx)
	out := filepath.Join(t.TempDir(), "merged")
	res, err := MergeAdapter(fx, filepath.Join(fx, "adapter"), out, Merge)
	require.NoError(t, err)
	assert.Len(t, res.Modules, 4)
	assert.Equal(t, []string{"classifier.bias", "classifier.weight"}, res.Replaced)

	cfg, err := checkpoint.LoadConfig(out)
	require.NoError(t, err)
	assert.Equal(t, []string{"BertForTokenClassification"}, cfg.Architectures)
	assert.Equal(t, []string{"O", "B-Disease", "I-Disease", "B-Chemical", "I-Chemical"}, cfg.Labels())

	sd, err := checkpoint.ReadSafetensors(filepath.Join(out, "model.safetensors"))
	require.NoError(t, err)
	ac, err := checkpoint.LoadAdapterConfig(filepath.Join(fx, "adapter"))
	require.NoError(t, err)
	for _, m := range []string{"query", "value"} {
		want := lf.MergedLayer0.Initial[m]
		got := sd["bert.encoder.layer.0.attention.self."+m+".weight"]
		require.NotNil(t, got, m)
		assert.Equal(t, want.Shape, got.Shape)
		d := maxAbsDiff(t, want.Data, got.Data)
		scale := 1.0
		for _, v := range want.Data {
			scale = math.Max(scale, math.Abs(v))
		}
		// PEFT's float32 B@A (K = r), scaling and add round r+2 times, our
		// float64 merge once: within the reordering bound of r+2 terms.
		tol := testutil.ReorderTol(ac.R+2) * scale
		t.Logf("merged_layer0 %s: max |Δ| = %.3g (tolerance %.3g)", m, d, tol)
		assert.LessOrEqual(t, d, tol, m)
	}

	mdl, err := model.Load(out, model.TokenClassification)
	require.NoError(t, err)
	logits := forwardFixture(t, mdl, lf)
	d := maxAbsDiff(t, lf.Logits.Data, logits)
	t.Logf("merged model vs LoRA logits: max |Δ| = %.3g", d)
	// HF parity bar (DEVELOPERS.md), as for the unmerged LoRA logits in core/lora: ~20× the √K·u·|logit| drift here.
	assert.LessOrEqual(t, d, 1e-4)
}

func forwardFixture(t *testing.T, m *model.Model, lf *loraFixture) []float32 {
	ids, mask, types := lf.Inputs.InputIDs, lf.Inputs.AttentionMask, lf.Inputs.TokenTypeIDs
	b := &model.Batch{Batch: ids.Shape[0], SeqLen: ids.Shape[1]}
	for i := range ids.Data {
		b.InputIDs = append(b.InputIDs, int32(ids.Data[i]))
		b.AttentionMask = append(b.AttentionMask, float32(mask.Data[i]))
		b.TokenTypeIDs = append(b.TokenTypeIDs, int32(types.Data[i]))
	}
	out, err := m.Forward(b)
	require.NoError(t, err)
	return append([]float32(nil), out.Data...)
}

// TestUnmergeRoundTrip merges then unmerges: every encoder weight returns to
// the base within two float32 roundings, and the targeted ones did change in
// between.
func TestUnmergeRoundTrip(t *testing.T) {
	fx := filepath.Join(sharedDir(t), "fixtures", "bert")
	tmp := t.TempDir()
	merged, back := filepath.Join(tmp, "merged"), filepath.Join(tmp, "back")
	_, err := MergeAdapter(fx, filepath.Join(fx, "adapter"), merged, Merge)
	require.NoError(t, err)
	_, err = MergeAdapter(merged, filepath.Join(fx, "adapter"), back, Unmerge)
	require.NoError(t, err)
	base, err := checkpoint.ReadSafetensors(filepath.Join(fx, "model.safetensors"))
	require.NoError(t, err)
	mid, err := checkpoint.ReadSafetensors(filepath.Join(merged, "model.safetensors"))
	require.NoError(t, err)
	got, err := checkpoint.ReadSafetensors(filepath.Join(back, "model.safetensors"))
	require.NoError(t, err)
	changed := 0
	for k, w := range base {
		if k == "classifier.weight" || k == "classifier.bias" {
			continue
		}
		require.Contains(t, got, k)
		wd := make([]float64, len(w.Data))
		for i, v := range w.Data {
			wd[i] = float64(v)
		}
		if maxAbsDiff(t, wd, mid[k].Data) > 1e-3 {
			changed++
		}
		scale := 1.0
		for _, v := range mid[k].Data {
			scale = math.Max(scale, math.Abs(float64(v)))
		}
		// W + δ − δ with the same float64 δ (same code, same order): two
		// float32 roundings, so within 2u of the weights' magnitude.
		assert.LessOrEqual(t, maxAbsDiff(t, wd, got[k].Data), 2*testutil.F32Roundoff*scale, k)
	}
	assert.Equal(t, 4, changed, "query/value of both layers differ while merged")
}

// TestMergeErrors: a missing adapter folder is reported with its path.
func TestMergeErrors(t *testing.T) {
	fx := filepath.Join(sharedDir(t), "fixtures", "bert")
	_, err := MergeAdapter(fx, filepath.Join(t.TempDir(), "nope"), t.TempDir(), Merge)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "nope")
}
