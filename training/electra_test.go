package training

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/openmed/openmed/core/checkpoint"
)

// electraBase copies the ELECTRA fixture (embedding_size 16 ≠ hidden 32, so
// embeddings_project is exercised) with a 128-entry WordPiece vocabulary.
func electraBase(t *testing.T) (string, []string) {
	t.Helper()
	fix := filepath.Join(sharedDir(t), "fixtures", "electra")
	dir := t.TempDir()
	cfg, err := checkpoint.LoadConfig(fix)
	require.NoError(t, err)
	require.NoError(t, cfg.Save(filepath.Join(dir, "config.json")))
	w, err := checkpoint.ReadSafetensors(filepath.Join(fix, "model.safetensors"))
	require.NoError(t, err)
	require.NoError(t, checkpoint.WriteSafetensors(filepath.Join(dir, "model.safetensors"), w, nil))
	vocab := []string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"}
	var words []string
	for i := 0; len(vocab) < 120; i++ {
		w := fmt.Sprintf("w%c%c", 'a'+i%26, 'a'+i/26)
		vocab = append(vocab, w)
		words = append(words, w)
	}
	vocab = append(vocab, "##x", "##y")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "vocab.txt"), []byte(strings.Join(vocab, "\n")+"\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "tokenizer_config.json"), []byte(`{"do_lower_case": true, "tokenizer_class": "BertTokenizer"}`), 0o644))
	return dir, words
}

// synthConll writes n sentences where the first five words are diseases
// (B-Disease, followed by I-Disease when the next is "wbx") and the next five
// chemicals; some words get a "##x" continuation to have several sub-tokens.
func synthConll(t *testing.T, words []string, n int, seed uint64) string {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 1))
	var b strings.Builder
	for s := 0; s < n; s++ {
		L := 5 + r.IntN(30)
		for i := 0; i < L; i++ {
			k := r.IntN(len(words))
			w, tag := words[k], "O"
			switch {
			case k < 5:
				tag = "B-Disease"
			case k < 10:
				tag = "B-Chemical"
			}
			if r.IntN(4) == 0 {
				w += "x"
			}
			fmt.Fprintf(&b, "%s\t%s\n", w, tag)
		}
		b.WriteString("\n")
	}
	p := filepath.Join(t.TempDir(), fmt.Sprintf("synth%d.tsv", seed))
	require.NoError(t, os.WriteFile(p, []byte(b.String()), 0o644))
	return p
}

// ELECTRA LoRA and full fine-tuning run end to end with windows over a
// 64-position model; outputs carry ELECTRA's names.
func TestElectraTraining(t *testing.T) {
	base, words := electraBase(t)
	// 30 word types: a linear probe over 32-dimensional random features can
	// separate them (120 could not), so LoRA learns within a few epochs.
	train, dev := synthConll(t, words[:30], 120, 1), synthConll(t, words[:30], 30, 2)
	for _, method := range []Method{MethodLoRA, MethodFull} {
		cfg := smallConfig(base, train, dev, t.TempDir())
		cfg.Method = method
		cfg.MaxLen, cfg.Stride = 24, 6
		cfg.Epochs = 15
		cfg.LabelSmoothing = 0
		cfg.Patience = 0
		cfg.LR = 1e-2
		res, err := Train(context.Background(), cfg)
		require.NoError(t, err, method)
		t.Logf("%s: dev F1 %.3f", method, res.Dev.Default.Micro.F1)
		assert.Greater(t, res.Dev.Default.Micro.F1, 0.3, "%s learns the synthetic entities", method)
		oc, err := checkpoint.LoadConfig(cfg.Out)
		require.NoError(t, err)
		require.Equal(t, []string{"ElectraForTokenClassification"}, oc.Architectures)
		if method == MethodLoRA {
			ours, err := checkpoint.ReadSafetensors(filepath.Join(cfg.Out, "adapter_model.safetensors"))
			require.NoError(t, err)
			fix, err := checkpoint.ReadSafetensors(filepath.Join(sharedDir(t), "fixtures", "electra", "adapter", "adapter_model.safetensors"))
			require.NoError(t, err)
			require.Equal(t, keyPattern(fix), keyPattern(ours))
		} else {
			require.FileExists(t, filepath.Join(cfg.Out, "model.safetensors"))
		}
	}
}
