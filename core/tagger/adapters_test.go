package tagger

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/openmed/openmed/core/lora"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	diseaseLabels  = []string{"O", "B-Disease", "I-Disease"}
	chemicalLabels = []string{"O", "B-Chemical", "I-Chemical"}
)

// TestAdapterHotSwap loads a base once, attaches a disease and a chemical
// adapter, and checks — on the Go engine and on ORT — that tagging with
// each equals a tagger opened on that adapter merged into the base, that
// swapping back and forth leaves no trace, and that WithAllAdapters returns
// the union of both, each entity marked with its adapter.
func TestAdapterHotSwap(t *testing.T) {
	base := tinyBERT(t, tinyLabels, 1)
	dis := tinyAdapter(t, base, diseaseLabels, 11)
	chem := tinyAdapter(t, base, chemicalLabels, 12)
	texts := ncbiSentences(t, 30)
	ctx := context.Background()

	ref := map[string][][]Entity{}
	tol := map[string]float64{}
	for name, ad := range map[string]string{"disease": dis, "chemical": chem} {
		merged := filepath.Join(t.TempDir(), "merged")
		_, err := lora.MergeAdapter(base, ad, merged, lora.Merge)
		require.NoError(t, err)
		m, err := Open(merged, WithBackend(BackendEngine))
		require.NoError(t, err)
		ref[name], err = m.TagBatch(ctx, texts)
		require.NoError(t, err)
		// The adapter runs unmerged on the engine (or merged, on ORT's
		// kernels): the reordering bound with the LoRA path, relative to
		// the logits.
		tol[name] = scoreTol(t, m, texts, tinyAdapterRank)
		m.Close()
		n := 0
		for _, r := range ref[name] {
			n += len(r)
		}
		require.Greater(t, n, 0, name)
	}
	baseRef := func(tg *Tagger) [][]Entity {
		r, err := tg.TagBatch(ctx, texts)
		require.NoError(t, err)
		return r
	}

	for _, kind := range []BackendKind{BackendEngine, BackendORT} {
		t.Run(kind.String(), func(t *testing.T) {
			if kind == BackendORT {
				ortRequire(t)
			}
			tg, err := Open(base, WithBackend(kind), WithCacheDir(t.TempDir()), WithThreads(1))
			require.NoError(t, err)
			defer tg.Close()
			before := baseRef(tg)
			require.NoError(t, tg.AddAdapter("disease", dis))
			require.NoError(t, tg.AddAdapter("chemical", chem))
			assert.Error(t, tg.AddAdapter("chemical", chem), "duplicate name")
			assert.Equal(t, []string{"disease", "chemical"}, tg.Adapters())
			labels, err := tg.AdapterLabels("chemical")
			require.NoError(t, err)
			assert.Equal(t, chemicalLabels, labels)
			for round := 0; round < 2; round++ {
				for _, name := range []string{"chemical", "disease"} {
					got, err := tg.TagBatch(ctx, texts, WithAdapter(name))
					require.NoError(t, err)
					for i := range texts {
						sameEntities(t, ref[name][i], got[i], tol[name], name)
					}
				}
			}
			// The model's own head is still the base model: the same weights,
			// kernels and batch shapes as before the swaps, so bit-identical.
			after, err := tg.TagBatch(ctx, texts, WithModelHead())
			require.NoError(t, err)
			for i := range texts {
				sameEntities(t, before[i], after[i], 0, "base after swaps")
			}
			union, err := tg.TagBatch(ctx, texts, WithAllAdapters())
			require.NoError(t, err)
			// Without options attached adapters are what is meant: all of them.
			def, err := tg.TagBatch(ctx, texts)
			require.NoError(t, err)
			assert.Equal(t, union, def, "identical computation: no options = all attached adapters")
			for i := range texts {
				var d, c []Entity
				for _, e := range union[i] {
					switch e.Adapter {
					case "disease":
						d = append(d, e)
					case "chemical":
						c = append(c, e)
					default:
						t.Fatalf("entity without adapter: %+v", e)
					}
				}
				sameEntities(t, ref["disease"][i], d, tol["disease"], "union/disease")
				sameEntities(t, ref["chemical"][i], c, tol["chemical"], "union/chemical")
				for k := 1; k < len(union[i]); k++ {
					assert.LessOrEqual(t, union[i][k-1].StartByte, union[i][k].StartByte, "sorted by offset")
				}
			}
		})
	}
}

// TestNewOnAdapterFolder: opening a tagger on an adapter folder (base from
// adapter_config.json base_model_name_or_path) equals opening the merged
// model, on both backends; ORT merges and exports into the cache once.
func TestNewOnAdapterFolder(t *testing.T) {
	base := tinyBERT(t, tinyLabels, 1)
	dis := tinyAdapter(t, base, diseaseLabels, 11)
	merged := filepath.Join(t.TempDir(), "merged")
	_, err := lora.MergeAdapter(base, dis, merged, lora.Merge)
	require.NoError(t, err)
	texts := ncbiSentences(t, 20)
	ctx := context.Background()
	m, err := Open(merged, WithBackend(BackendEngine))
	require.NoError(t, err)
	want, err := m.TagBatch(ctx, texts)
	require.NoError(t, err)
	// Unmerged on the engine, merged on ORT's kernels: the reordering bound
	// with the LoRA path, relative to the logits.
	tol := scoreTol(t, m, texts, tinyAdapterRank)
	m.Close()
	cache := t.TempDir()
	for _, kind := range []BackendKind{BackendEngine, BackendORT} {
		if kind == BackendORT {
			ortRequire(t)
		}
		tg, err := Open(dis, WithBackend(kind), WithCacheDir(cache), WithThreads(1))
		require.NoError(t, err)
		assert.Equal(t, diseaseLabels, tg.Labels())
		got, err := tg.TagBatch(ctx, texts)
		require.NoError(t, err)
		for i := range texts {
			sameEntities(t, want[i], got[i], tol, kind.String())
		}
		tg.Close()
	}
	entries, err := filepath.Glob(filepath.Join(cache, "onnx-*", "onnx", "model.onnx"))
	require.NoError(t, err)
	assert.Len(t, entries, 1, "one cached export")
}

// TestDeviceCUDAUnavailable: asking for CUDA where the ORT build has none
// fails with a message naming CUDA, not a crash; the Go engine refuses it.
func TestDeviceCUDAUnavailable(t *testing.T) {
	base := tinyBERT(t, tinyLabels, 1)
	_, err := Open(base, WithBackend(BackendEngine), WithDevice(DeviceCUDA))
	assert.ErrorContains(t, err, "cuda")
	ortRequire(t)
	_, err = Open(base, WithBackend(BackendORT), WithDevice(DeviceCUDA), WithCacheDir(t.TempDir()))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "CUDA")
}

// TestDefaultModelMissing: no model and no default gives ErrNoDefaultModel.
func TestDefaultModelMissing(t *testing.T) {
	t.Setenv(EnvModel, "")
	t.Chdir(t.TempDir())
	_, err := Open("")
	assert.ErrorIs(t, err, ErrNoDefaultModel)
	t.Setenv(EnvModel, filepath.Join(t.TempDir(), "absent"))
	_, err = Open("")
	assert.ErrorContains(t, err, EnvModel)
}

// One attached adapter is the default; AdapterName names folders as every
// binding does.
func TestOneAttachedAdapterIsTheDefault(t *testing.T) {
	base := tinyBERT(t, tinyLabels, 1)
	dis := tinyAdapter(t, base, diseaseLabels, 11)
	tg, err := Open(base, WithBackend(BackendEngine))
	require.NoError(t, err)
	defer tg.Close()
	ctx := context.Background()
	texts := ncbiSentences(t, 8)
	own, err := tg.TagBatch(ctx, texts)
	require.NoError(t, err)
	name := AdapterName(dis, tg.Adapters())
	assert.Equal(t, filepath.Base(dis), name)
	require.NoError(t, tg.AddAdapter(name, dis))
	def, err := tg.TagBatch(ctx, texts)
	require.NoError(t, err)
	with, err := tg.TagBatch(ctx, texts, WithAdapter(name))
	require.NoError(t, err)
	assert.Equal(t, with, def)
	assert.NotEqual(t, own, def, "the adapter, not the model's head")
	assert.Equal(t, filepath.Base(dis)+"#2", AdapterName(dis, tg.Adapters()))
	_, err = tg.TagBatch(ctx, texts, WithModelHead(), WithAdapter(name))
	assert.ErrorContains(t, err, "excludes")
}
