package tagger

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openmed/openmed/core/checkpoint"
	"github.com/openmed/openmed/core/lora"
	"github.com/openmed/openmed/core/tensor"
	"github.com/openmed/openmed/core/tokenize"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSharedBaseORT opens a manifest of two adapters on ORT and checks that
// they run as one shared-base session (onnx.BuildShared: one copy of the
// base, one run per batch for both), that each adapter's logits equal those
// of its own merged export on the same padded batches within the float32
// reordering bound of adding the LoRA update apart from the weight, and
// that tagging equals the Go engine's (which shares the base its own way).
func TestSharedBaseORT(t *testing.T) {
	ortRequire(t)
	root := standInDefault(t)
	cache := t.TempDir()
	tg, err := Open(root, WithBackend(BackendORT), WithCacheDir(cache), WithThreads(1))
	require.NoError(t, err)
	defer tg.Close()
	require.Len(t, tg.shared, 2, "the manifest's adapters share one session")
	var group *ORTBackend
	for _, name := range []string{"disease", "chemical"} {
		sh, ok := tg.heads[name].be.(*sharedHead)
		require.True(t, ok, "%s: %T", name, tg.heads[name].be)
		if group == nil {
			group = sh.be
		}
		assert.Same(t, group, sh.be, "one session")
	}
	assert.ElementsMatch(t, []string{"disease", "chemical"}, group.Heads())
	assert.Equal(t, tg.Adapters(), group.Heads(), "manifest order")
	assert.Equal(t, []int{3, 3}, group.HeadLabels())
	assert.Equal(t, 2, tg.tiledRows, "tiled form: the batch size is divided among the adapters")

	// Logits against each adapter's merged export, on one padded batch.
	texts := ncbiSentences(t, 12)
	var ids, mask, types [][]int64
	L := 0
	for _, text := range texts {
		enc, err := tg.tok.Encode(text)
		require.NoError(t, err)
		ws, err := tokenize.WordAlignedWindows(enc, tg.opts.WindowLen, tg.opts.Stride)
		require.NoError(t, err)
		w := ws[0]
		L = max(L, w.Len())
		row, m, ty := make([]int64, w.Len()), make([]int64, w.Len()), make([]int64, w.Len())
		for j := range row {
			row[j], m[j], ty[j] = int64(w.IDs[j]), 1, int64(w.TypeIDs[j])
		}
		ids, mask, types = append(ids, row), append(mask, m), append(types, ty)
	}
	for r := range ids {
		for len(ids[r]) < L {
			ids[r], mask[r], types[r] = append(ids[r], int64(tg.padID())), append(mask[r], 0), append(types[r], 0)
		}
	}
	all, err := group.LogitsAll(ids, mask, types)
	require.NoError(t, err)
	require.Len(t, all, 2)
	base := filepath.Join(root, "openmed-small-bio")
	folders := map[string]string{"disease": "ncbi-disease-lora", "chemical": "bc5cdr-chem-lora"}
	for i, name := range group.Heads() {
		dir := folders[name]
		scale, maxDiff := mergedLogitDiff(t, base, filepath.Join(root, dir), cache, ids, mask, types, all[i])
		tol := pathTol(scale, L, tinyAdapterRank)

		t.Logf("%s: max |Δlogit| %.3g (tolerance %.3g)", dir, maxDiff, tol)
		assert.LessOrEqual(t, maxDiff, tol, dir)
	}

	// Tagging: ORT shared session vs the Go engine's shared base.
	eng, err := Open(root, WithBackend(BackendEngine), WithThreads(1))
	require.NoError(t, err)
	defer eng.Close()
	tol := scoreTol(t, eng, texts, tinyAdapterRank)
	ctx := context.Background()
	want, err := eng.TagBatch(ctx, texts)
	require.NoError(t, err)
	got, err := tg.TagBatch(ctx, texts)
	require.NoError(t, err)
	n := 0
	for i := range texts {
		sameEntities(t, want[i], got[i], tol, "shared ORT vs engine")
		n += len(want[i])
	}
	require.Positive(t, n, "entities to compare")
	toks, err := tg.TagTokens(ctx, texts[0])
	require.NoError(t, err)
	wantToks, err := eng.TagTokens(ctx, texts[0])
	require.NoError(t, err)
	require.Equal(t, len(wantToks), len(toks))
	for i := range toks {
		assert.Equal(t, wantToks[i].Tag, toks[i].Tag, "word %d", i)
	}

	// The export is cached: a second open reuses the file.
	matches, err := filepath.Glob(filepath.Join(cache, "onnx-shared-*", "onnx", "model.onnx"))
	require.NoError(t, err)
	require.Len(t, matches, 1)
	st, err := os.Stat(matches[0])
	require.NoError(t, err)
	tg2, err := Open(root, WithBackend(BackendORT), WithCacheDir(cache), WithThreads(1))
	require.NoError(t, err)
	tg2.Close()
	st2, err := os.Stat(matches[0])
	require.NoError(t, err)
	assert.Equal(t, st.ModTime(), st2.ModTime())
}

// mergedLogitDiff merges adapter into base, exports it into cache, runs it
// on the batch and returns max(1, its largest |logit|) and the largest
// |difference| from got, which must have the same shape.
func mergedLogitDiff(t *testing.T, base, adapter, cache string, ids, mask, types [][]int64, got *tensor.Tensor) (scale, maxDiff float64) {
	t.Helper()
	merged := filepath.Join(t.TempDir(), "merged")
	_, err := lora.MergeAdapter(base, adapter, merged, lora.Merge)
	require.NoError(t, err)
	ref, err := NewORT(cachedExportT(t, merged, cache), ORTOptions{IntraOpThreads: 1})
	require.NoError(t, err)
	defer ref.Close()
	want, err := ref.Logits(ids, mask, types)
	require.NoError(t, err)
	require.Equal(t, want.Shape, got.Shape)
	scale = 1
	for k := range want.Data {
		scale = math.Max(scale, math.Abs(float64(want.Data[k])))
		maxDiff = math.Max(maxDiff, math.Abs(float64(want.Data[k]-got.Data[k])))
	}
	return scale, maxDiff
}

// cachedExportT is cachedExport of an HF folder into cache.
func cachedExportT(t *testing.T, dir, cache string) string {
	t.Helper()
	o := DefaultOptions()
	o.CacheDir = cache
	exp, err := cachedExport(o, dir, "")
	require.NoError(t, err)
	return exp
}

// TestSharedExportUnsupported: a DeBERTa base or an adapter saving more
// than its classifier gets errSharedUnsupported, so the tagger falls back
// to one merged session per adapter.
func TestSharedExportUnsupported(t *testing.T) {
	shared := ortSharedDir(t)
	o := DefaultOptions()
	o.CacheDir = t.TempDir()
	_, _, err := cachedSharedExport(o, filepath.Join(shared, "fixtures", "deberta_v3"), []namedAdapter{{"a", t.TempDir()}, {"b", t.TempDir()}})
	assert.True(t, errors.Is(err, errSharedUnsupported), "%v", err)

	base := tinyBERT(t, tinyLabels, 1)
	dis := tinyAdapter(t, base, diseaseLabels, 11)
	odd := tinyAdapter(t, base, chemicalLabels, 12)
	pc, w, err := checkpoint.LoadAdapter(odd)
	require.NoError(t, err)
	w[checkpoint.AdapterPrefix+"bert.pooler.dense.weight"] = w[checkpoint.AdapterPrefix+"classifier.weight"]
	require.NoError(t, checkpoint.SaveAdapter(odd, pc, w))
	_, _, err = cachedSharedExport(o, base, []namedAdapter{{"disease", dis}, {"odd", odd}})
	assert.True(t, errors.Is(err, errSharedUnsupported), "%v", err)
	assert.Contains(t, err.Error(), "bert.pooler.dense.weight")
}

// TestSharedPerBranch: adapters whose unmerged updates would add more than
// SharedMaxLoRACost of the multiply-adds still share one session, in
// BuildShared's per-branch form (each adapter's merged copies of the weights
// it touches, the embeddings and the rest shared): logits equal the merged
// exports', and tagging equals the Go engine's.
func TestSharedPerBranch(t *testing.T) {
	ortRequire(t)
	root := standInDefault(t)
	for _, dir := range []string{"ncbi-disease-lora", "bc5cdr-chem-lora"} {
		// rank 16 on query/value: 2·16·64 per layer over 4·32² + 2·32·64 = 25 %
		p := filepath.Join(root, dir)
		pc, w, err := checkpoint.LoadAdapter(p)
		require.NoError(t, err)
		for k, v := range w {
			switch {
			case strings.HasSuffix(k, ".lora_A.weight"):
				w[k] = tensor.New(16, v.Shape[1])
				copy(w[k].Data, v.Data)
			case strings.HasSuffix(k, ".lora_B.weight"):
				nb := tensor.New(v.Shape[0], 16)
				for o := 0; o < v.Shape[0]; o++ {
					copy(nb.Data[o*16:o*16+v.Shape[1]], v.Data[o*v.Shape[1]:(o+1)*v.Shape[1]])
				}
				w[k] = nb
			}
		}
		pc.R, pc.LoraAlpha = 16, 2*16 // scaling 2, as r 4 α 8: the same update
		require.NoError(t, checkpoint.SaveAdapter(p, pc, w))
	}
	u, err := lora.ReadUpdates(filepath.Join(root, "ncbi-disease-lora"))
	require.NoError(t, err)
	cfg, err := checkpoint.LoadConfig(filepath.Join(root, "openmed-small-bio"))
	require.NoError(t, err)
	assert.InDelta(t, 0.25, loraCost(cfg, []*lora.Updates{u, u}), 1e-9)

	cache := t.TempDir()
	tg, err := Open(root, WithBackend(BackendORT), WithCacheDir(cache), WithThreads(1))
	require.NoError(t, err)
	defer tg.Close()
	require.Len(t, tg.shared, 2, "one session, per-branch form")
	assert.Zero(t, tg.tiledRows, "per-branch form: batches as usual")
	group := tg.shared[0].be.(*sharedHead).be
	ids := [][]int64{{2, 1000, 1001, 1002, 3}, {2, 1500, 3, 0, 0}}
	mask := [][]int64{{1, 1, 1, 1, 1}, {1, 1, 1, 0, 0}}
	all, err := group.LogitsAll(ids, mask, nil)
	require.NoError(t, err)
	folders := map[string]string{"disease": "ncbi-disease-lora", "chemical": "bc5cdr-chem-lora"}
	for i, name := range group.Heads() {
		scale, maxDiff := mergedLogitDiff(t, filepath.Join(root, "openmed-small-bio"), filepath.Join(root, folders[name]), cache, ids, mask, nil, all[i])
		// The same merged weights and shapes: only kernel choices differ.
		tol := pathTol(scale, 5, 0)
		t.Logf("%s: max |Δlogit| %.3g (tolerance %.3g)", name, maxDiff, tol)
		assert.LessOrEqual(t, maxDiff, tol, name)
	}
	eng, err := Open(root, WithBackend(BackendEngine), WithThreads(1))
	require.NoError(t, err)
	defer eng.Close()
	texts := ncbiSentences(t, 6)
	tol := scoreTol(t, eng, texts, 16)
	want, err := eng.TagBatch(context.Background(), texts)
	require.NoError(t, err)
	got, err := tg.TagBatch(context.Background(), texts)
	require.NoError(t, err)
	for i := range texts {
		sameEntities(t, want[i], got[i], tol, "per-branch session vs engine")
	}
}
