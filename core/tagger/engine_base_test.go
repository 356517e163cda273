package tagger

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/openmed/openmed/core/checkpoint"
	"github.com/openmed/openmed/core/lora"
	"github.com/stretchr/testify/require"
)

// TestEngineAdapterOnLabelFreeBase: the Go engine opens an adapter folder
// whose base config.json has no id2label (a pre-trained / masked-LM encoder,
// the usual LoRA base) by sizing the head from the adapter's labels, and tags
// exactly like the merged model.
func TestEngineAdapterOnLabelFreeBase(t *testing.T) {
	base := tinyBERT(t, tinyLabels, 1)
	dis := tinyAdapter(t, base, diseaseLabels, 11)
	merged := filepath.Join(t.TempDir(), "merged")
	_, err := lora.MergeAdapter(base, dis, merged, lora.Merge)
	require.NoError(t, err)
	// Strip the base's labels and head class: now it is a plain encoder folder.
	cfgPath := filepath.Join(base, checkpoint.ConfigFile)
	b, err := os.ReadFile(cfgPath)
	require.NoError(t, err)
	var raw map[string]any
	require.NoError(t, json.Unmarshal(b, &raw))
	delete(raw, "id2label")
	delete(raw, "label2id")
	raw["architectures"] = []string{"BertForMaskedLM"}
	b, err = json.Marshal(raw)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(cfgPath, b, 0o644))
	_, err = NewEngine(base)
	require.Error(t, err, "a label-free base cannot size a head on its own")

	ctx := context.Background()
	texts := ncbiSentences(t, 10)
	m, err := Open(merged, WithBackend(BackendEngine), WithThreads(1))
	require.NoError(t, err)
	want, err := m.TagBatch(ctx, texts)
	require.NoError(t, err)
	// Merged weights vs the adapter's unmerged LoRA path: the reordering
	// bound with the LoRA path, relative to the logits.
	tol := scoreTol(t, m, texts, tinyAdapterRank)
	require.NoError(t, m.Close())
	tg, err := Open(dis, WithBaseDir(base), WithBackend(BackendEngine), WithThreads(1))
	require.NoError(t, err)
	defer tg.Close()
	require.Equal(t, diseaseLabels, tg.Labels())
	got, err := tg.TagBatch(ctx, texts)
	require.NoError(t, err)
	n := 0
	for i := range texts {
		sameEntities(t, want[i], got[i], tol, "engine")
		n += len(want[i])
	}
	require.Greater(t, n, 0, "the merged model predicts entities")
}
