package tagger

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/openmed/openmed/core/onnx"
	"github.com/openmed/openmed/internal/testutil"
)

// jsToken / jsGroup are transformers.js pipeline outputs.
type jsToken struct {
	Entity string  `json:"entity"`
	Score  float64 `json:"score"`
	Index  int     `json:"index"`
	Word   string  `json:"word"`
}

type jsGroup struct {
	EntityGroup string  `json:"entity_group"`
	Score       float64 `json:"score"`
	Word        string  `json:"word"`
}

// TestTransformersJSPipelineAgrees is the acceptance check: a
// random-init BERT with the real PubMedBERT tokenizer and two entity types,
// exported as `openmed export` does, is run by transformers.js 4.3.1's
// token-classification pipeline (offline, fp32) on 200 NCBI-Disease test
// sentences. Per token (aggregation none, ignore_labels []) its labels equal
// ours and its scores agree within the float32 reordering bound (pathTol);
// with aggregation simple (ignore_labels [], then "O" groups dropped) its
// groups equal ours (type and score). transformers.js drops [UNK] tokens
// (they decode to ""), so [UNK] tokens are skipped per token and sentences
// holding one are left out of the group comparison. Runs where node and
// tests/js/node_modules exist; under CI=true their absence fails.
func TestTransformersJSPipelineAgrees(t *testing.T) {
	ortSharedDir(t)
	repo := repoRoot(t)
	script := filepath.Join(repo, "tests", "js", "tagger_pipeline.mjs")
	node, err := exec.LookPath("node")
	if err == nil {
		_, err = os.Stat(filepath.Join(repo, "tests", "js", "node_modules", "@huggingface", "transformers"))
	}
	if err != nil {
		msg := "needs node and tests/js/node_modules (make setup): " + err.Error()
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	ortRequire(t)
	model := tinyBERT(t, tinyLabels, 1)
	exp := filepath.Join(t.TempDir(), "export")
	_, err = onnx.Export(model, exp, onnx.ExportOptions{})
	require.NoError(t, err)

	texts := ncbiSentences(t, 260)
	tn, err := Open(exp, WithBackend(BackendORT), WithAggregation(AggregationNone), WithIgnoreLabels(), WithThreads(1))
	require.NoError(t, err)
	defer tn.Close()
	// Keep sentences under max length − 2 word pieces, 200 of them.
	var keep []string
	for _, s := range texts {
		enc, err := tn.Tokenizer().Encode(s)
		require.NoError(t, err)
		if enc.Len() <= 510 && len(keep) < 200 {
			keep = append(keep, s)
		}
	}
	require.Len(t, keep, 200)
	raw, err := json.Marshal(keep)
	require.NoError(t, err)
	tf := filepath.Join(t.TempDir(), "texts.json")
	require.NoError(t, os.WriteFile(tf, raw, 0o644))
	out, err := exec.Command(node, script, exp, tf).Output()
	if ee, ok := err.(*exec.ExitError); ok {
		t.Fatalf("tagger_pipeline.mjs: %v\n%s", err, ee.Stderr)
	}
	require.NoError(t, err)
	var js []struct {
		InputIDs []int64   `json:"input_ids"`
		None     []jsToken `json:"none"`
		Simple   []jsGroup `json:"simple"`
	}
	require.NoError(t, json.Unmarshal(out, &js))
	require.Len(t, js, len(keep))

	ts, err := Open(exp, WithBackend(BackendORT), WithAggregation(AggregationSimple), WithThreads(1))
	require.NoError(t, err)
	defer ts.Close()
	ctx := context.Background()
	ours, err := tn.TagBatch(ctx, keep)
	require.NoError(t, err)
	groups, err := ts.TagBatch(ctx, keep)
	require.NoError(t, err)
	// transformers.js runs each sentence alone, we run padded batches (on
	// the same ONNX graph): the reordering bound, relative to the logits.
	tol := scoreTol(t, tn, keep, 0)
	unk := tn.Tokenizer().Special().UNK
	maxDiff, tokens, compared, skipped, nGroups := 0.0, 0, 0, 0, 0
	for i := range keep {
		enc, err := tn.Tokenizer().Encode(keep[i])
		require.NoError(t, err)
		ids := make([]int64, enc.Len())
		hasUnk := false
		for k, id := range enc.IDs {
			ids[k] = int64(id)
			hasUnk = hasUnk || id == unk
		}
		require.Equal(t, ids, js[i].InputIDs, "sentence %d: same tokenisation", i)
		byIndex := map[int]Entity{}
		for _, e := range ours[i] {
			byIndex[e.Index] = e
		}
		wantTokens := 0
		for k := range ids {
			if _, ok := byIndex[k]; ok && ids[k] != int64(unk) {
				wantTokens++
			}
		}
		require.Equal(t, wantTokens, len(js[i].None), "sentence %d: tokens", i)
		for _, jt := range js[i].None {
			e, ok := byIndex[jt.Index]
			require.True(t, ok, "sentence %d token %d", i, jt.Index)
			assert.Equal(t, e.Label, jt.Entity, "sentence %d token %d", i, jt.Index)
			assert.InDelta(t, jt.Score, e.Score, tol, "sentence %d token %d", i, jt.Index)
			maxDiff = max(maxDiff, abs(jt.Score-float64(e.Score)))
			tokens++
		}
		if hasUnk {
			skipped++
			continue
		}
		var jg []jsGroup
		for _, g := range js[i].Simple {
			if g.EntityGroup != "O" {
				jg = append(jg, g)
			}
		}
		require.Equal(t, len(jg), len(groups[i]), "sentence %d: groups %+v vs %+v", i, jg, groups[i])
		for k, g := range jg {
			assert.Equal(t, g.EntityGroup, groups[i][k].Label, "sentence %d group %d", i, k)
			assert.InDelta(t, g.Score, groups[i][k].Score, tol, "sentence %d group %d", i, k)
		}
		nGroups += len(jg)
		compared++
	}
	t.Logf("%d tokens: max |score diff| %.3g; groups compared in %d sentences (%d groups), %d with [UNK] compared per token only",
		tokens, maxDiff, compared, nGroups, skipped)
	assert.Greater(t, compared, 150)
	assert.Greater(t, nGroups, 200)
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

// repoRoot is the directory holding go.mod above the working directory.
func repoRoot(t testing.TB) string {
	return testutil.Root(t)
}
