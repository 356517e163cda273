package tagger

import (
	"context"
	"encoding/json"
	"math/rand"
	"os"
	"path/filepath"
	"testing"

	omcache "github.com/openmed/openmed/core/cache"
	"github.com/openmed/openmed/core/checkpoint"
	"github.com/openmed/openmed/core/encoder"
	"github.com/openmed/openmed/core/lora"
	"github.com/openmed/openmed/core/tensor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// writeEncoderAdapter writes a FEATURE_EXTRACTION LoRA adapter (the DAPT
// delta) for tinyBERT with non-zero B, so it changes the encoder.
func writeEncoderAdapter(t *testing.T, dir string, seed int64) {
	t.Helper()
	rng := rand.New(rand.NewSource(seed))
	w := map[string]*tensor.Tensor{}
	for l := 0; l < 2; l++ {
		for _, m := range []string{"query", "value"} {
			p := checkpoint.AdapterPrefix + "bert.encoder.layer." + string(rune('0'+l)) + ".attention.self." + m
			a, b := tensor.New(4, 32), tensor.New(32, 4)
			for i := range a.Data {
				a.Data[i] = float32(rng.NormFloat64() * 0.3)
			}
			for i := range b.Data {
				b.Data[i] = float32(rng.NormFloat64() * 0.3)
			}
			w[p+".lora_A.weight"], w[p+".lora_B.weight"] = a, b
		}
	}
	pc := checkpoint.DefaultLoRAConfig(checkpoint.ModelBERT, 4, 8)
	pc.TaskType = checkpoint.TaskFeatureExtraction
	pc.ModulesToSave = nil
	require.NoError(t, checkpoint.SaveAdapter(dir, pc, w))
}

// installFakeEncoder puts src into the encoder cache under a pinned name
// with the pin's sha256 recorded, as `openmed encoders install` would.
func installFakeEncoder(t *testing.T, cache, name, src string) string {
	t.Helper()
	p, err := encoder.Lookup(name)
	require.NoError(t, err)
	dir := filepath.Join(cache, "encoders", name)
	copyDir(t, src, dir)
	data, err := json.Marshal(encoder.Info{Name: name, Format: encoder.FormatHF, SHA256: p.SHA256, Package: p.Package})
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, encoder.InfoFile), data, 0o644))
	return dir
}

// A manifest whose base is a cached pinned encoder plus a DAPT adapter tags
// exactly as the adapters opened on the explicitly merged base; without the
// base adapter the scores differ; a missing or foreign encoder is an error
// that says what to run.
func TestManifestBaseEncoderAndAdapter(t *testing.T) {
	root := standInDefault(t)
	cache := t.TempDir()
	t.Setenv(omcache.Env, cache)
	enc := installFakeEncoder(t, cache, "all-minilm-l6-v2", filepath.Join(root, "openmed-small-bio"))
	require.NoError(t, os.RemoveAll(filepath.Join(root, "openmed-small-bio")), "the repository carries no base")
	writeEncoderAdapter(t, filepath.Join(root, "dapt-lora"), 5)
	manifest := `{"base_encoder": "all-minilm-l6-v2", "base_adapter": "dapt-lora",
 "adapters": {"disease": "ncbi-disease-lora", "chemical": "bc5cdr-chem-lora"}}`
	require.NoError(t, os.WriteFile(filepath.Join(root, ManifestFile), []byte(manifest), 0o644))

	ctx := context.Background()
	text := "Famotidine-associated delirium in a patient with renal failure and breast cancer."
	tg, err := Open(root, WithBackend(BackendEngine))
	require.NoError(t, err)
	defer tg.Close()
	got, err := tg.TagTokens(ctx, text, WithAdapter("disease"))
	require.NoError(t, err)

	merged := filepath.Join(t.TempDir(), "merged")
	require.NoError(t, lora.MergeEncoderAdapter(enc, filepath.Join(root, "dapt-lora"), merged))
	ref, err := Open(filepath.Join(root, "ncbi-disease-lora"), WithBackend(BackendEngine), WithBaseDir(merged))
	require.NoError(t, err)
	defer ref.Close()
	want, err := ref.TagTokens(ctx, text)
	require.NoError(t, err)
	assert.Equal(t, want, got, "identical computation: manifest base = released encoder + DAPT adapter")

	plain, err := Open(filepath.Join(root, "ncbi-disease-lora"), WithBackend(BackendEngine), WithBaseDir(enc))
	require.NoError(t, err)
	defer plain.Close()
	without, err := plain.TagTokens(ctx, text)
	require.NoError(t, err)
	assert.NotEqual(t, without, got, "the base adapter changes the encoder")

	// The merged base is cached: a second open reuses it.
	bases, err := os.ReadDir(filepath.Join(cache, "bases"))
	require.NoError(t, err)
	assert.Len(t, bases, 1)

	// A foreign import of the pinned name is refused.
	data, err := json.Marshal(encoder.Info{Name: "all-minilm-l6-v2", Format: encoder.FormatHF, SHA256: "00"})
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(enc, encoder.InfoFile), data, 0o644))
	_, err = Open(root, WithBackend(BackendEngine))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "not the pinned")
	// A missing one says what to run.
	require.NoError(t, os.RemoveAll(enc))
	_, err = Open(root, WithBackend(BackendEngine))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "make encoders")
}
