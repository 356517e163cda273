package dapt

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/openmed/openmed/core/checkpoint"
	"github.com/openmed/openmed/core/model"
	"github.com/openmed/openmed/core/tokenize"
	"github.com/openmed/openmed/internal/testutil"
	"github.com/openmed/openmed/training"
)

// The from-scratch DeBERTa-v3 config carries every convention of a real
// DeBERTa-v3 config.json (the shared fixture, saved by transformers 4.36),
// scaled to the requested size, with deberta-v3-base's position_buckets 256
// and initializer_range 0.02.
func TestScratchConfigDeBERTaV3(t *testing.T) {
	tok, _ := pubmed(t)
	var fx map[string]any
	b, err := os.ReadFile(filepath.Join(sharedDir(t), "fixtures", "deberta_v3", "config.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &fx))

	drop := 0.0
	c, err := ScratchConfig(Scratch{Arch: ArchDeBERTaV3, Layers: 4, Hidden: 256, Heads: 4, FFN: 1024, Dropout: &drop}, tok)
	require.NoError(t, err)
	out := filepath.Join(t.TempDir(), "config.json")
	require.NoError(t, c.Save(out))
	b, err = os.ReadFile(out)
	require.NoError(t, err)
	var got map[string]any
	require.NoError(t, json.Unmarshal(b, &got))
	for _, k := range []string{"model_type", "relative_attention", "position_biased_input", "pos_att_type", "max_relative_positions",
		"norm_rel_ebd", "share_att_key", "hidden_act", "layer_norm_eps", "type_vocab_size", "pad_token_id", "pooler_dropout", "pooler_hidden_act"} {
		assert.Equal(t, fx[k], got[k], k)
	}
	assert.Equal(t, []any{"DebertaV2ForMaskedLM"}, got["architectures"])
	assert.EqualValues(t, 256, got["position_buckets"])
	assert.EqualValues(t, 0.02, got["initializer_range"])
	assert.EqualValues(t, 256, got["hidden_size"])
	assert.EqualValues(t, 256, got["pooler_hidden_size"])
	assert.EqualValues(t, 1024, got["intermediate_size"])
	assert.EqualValues(t, 512, got["max_position_embeddings"])
	assert.EqualValues(t, tok.VocabSize(), got["vocab_size"])
	assert.EqualValues(t, 0, got["hidden_dropout_prob"])
	assert.EqualValues(t, 0, got["attention_probs_dropout_prob"])

	// BERT stays the default and unchanged.
	bc, err := ScratchConfig(Scratch{Layers: 1, Hidden: 32, Heads: 2, FFN: 64}, tok)
	require.NoError(t, err)
	assert.Equal(t, checkpoint.ModelBERT, bc.ModelType)
	assert.Equal(t, 2, bc.TypeVocabSize)
	assert.InDelta(t, 0.1, bc.HiddenDropoutProb, 0)
}

// model.New on the DeBERTa config applies HF's DebertaV2PreTrainedModel
// _init_weights: Linear/Embedding weights (rel_embeddings included)
// N(0, 0.02²), biases 0, LayerNorm 1/0, the [PAD] row zero; no absolute
// position or token-type table exists.
func TestScratchDeBERTaInit(t *testing.T) {
	tok, _ := pubmed(t)
	c, err := ScratchConfig(Scratch{Arch: ArchDeBERTaV3, Layers: 2, Hidden: 64, Heads: 4, FFN: 128}, tok)
	require.NoError(t, err)
	m, err := model.New(c, model.MaskedLM, 7)
	require.NoError(t, err)
	require.Equal(t, model.DeBERTaV2, m.Arch)
	sd := m.StateDict()
	require.NotContains(t, sd, "deberta.embeddings.position_embeddings.weight")
	require.NotContains(t, sd, "deberta.embeddings.token_type_embeddings.weight")
	rel := sd["deberta.encoder.rel_embeddings.weight"]
	require.NotNil(t, rel)
	require.Equal(t, []int{2 * DeBERTaPositionBuckets, 64}, rel.Shape)
	std := func(x []float32) float64 {
		var s, s2 float64
		for _, v := range x {
			s += float64(v)
			s2 += float64(v) * float64(v)
		}
		n := float64(len(x))
		return math.Sqrt(s2/n - (s/n)*(s/n))
	}
	assert.InDelta(t, 0.02, std(rel.Data), 0.001)
	assert.InDelta(t, 0.02, std(sd["deberta.encoder.layer.0.attention.self.query_proj.weight"].Data), 0.001)
	for name, v := range sd {
		switch {
		case strings.Contains(name, "LayerNorm.weight"):
			for _, x := range v.Data {
				require.Equal(t, float32(1), x, name)
			}
		case strings.HasSuffix(name, ".bias"):
			for _, x := range v.Data {
				require.Equal(t, float32(0), x, name)
			}
		}
	}
	pad := tok.Special().PAD
	word := sd["deberta.embeddings.word_embeddings.weight"]
	for _, x := range word.Data[int(pad)*64 : int(pad+1)*64] {
		require.Equal(t, float32(0), x)
	}
}

// Options that do not fit the architecture are refused before any work.
func TestScratchArchRefusals(t *testing.T) {
	_, tokDir := pubmed(t)
	c := DefaultConfig()
	c.Text, c.Out, c.FromScratch, c.Tokenizer = []string{"unused.txt"}, t.TempDir(), true, tokDir
	c.Scratch = &Scratch{Arch: "deberta-v9", Layers: 1, Hidden: 32, Heads: 2, FFN: 64}
	_, err := Run(context.Background(), c)
	require.ErrorContains(t, err, `unknown from-scratch architecture "deberta-v9"`)
	c.Scratch = &Scratch{Arch: ArchDeBERTaV3, Layers: 1, Hidden: 32, Heads: 2, FFN: 64, PositionInit: PositionSinusoidal}
	_, err = Run(context.Background(), c)
	require.ErrorContains(t, err, "no absolute position table")
	assert.True(t, ArchBERT.Valid())
	assert.True(t, ScratchArch("").Valid())
	assert.Equal(t, "bert", ScratchArch("").String())
	assert.Equal(t, model.DeBERTaV2, ArchDeBERTaV3.Model())
	assert.Equal(t, model.BERT, ScratchArch("").Model())
}

// tinyDeBERTaRun pre-trains a 1-layer DeBERTa-v3 from scratch on a few NCBI
// sentences with the given tokenizer.
func tinyDeBERTaRun(t *testing.T, tokDir string, embInit EmbeddingInit) *Result {
	t.Helper()
	drop := 0.1
	c := scratchConfig(t, ncbiText(t, 120), tokDir, Scratch{Arch: ArchDeBERTaV3, Layers: 1, Hidden: 32, Heads: 2, FFN: 64, Dropout: &drop, EmbeddingInit: embInit})
	c.BlockLen, c.BatchSize, c.Epochs, c.LR = 64, 8, 2, 2e-3
	c.HeldOut = 0.1
	res, err := Run(context.Background(), c)
	require.NoError(t, err)
	return res
}

// A from-scratch DeBERTa run (PPMI-SVD embeddings, dropout on) is
// deterministic, lowers held-out loss, and saves a DebertaV2ForMaskedLM
// folder that training.LoadBase turns into a fresh token classifier with the
// trained encoder.
func TestFromScratchDeBERTa(t *testing.T) {
	_, tokDir := pubmed(t)
	a := tinyDeBERTaRun(t, tokDir, EmbeddingPPMISVD)
	b := tinyDeBERTaRun(t, tokDir, EmbeddingPPMISVD)
	sa, sb := a.Model.StateDict(), b.Model.StateDict()
	require.Equal(t, len(sa), len(sb))
	for k, v := range sa {
		require.Equal(t, v.Data, sb[k].Data, k)
	}
	require.Equal(t, a.After, b.After)
	t.Logf("held-out loss %.3f -> %.3f, %d steps, %.0f tokens/s", a.Before.Loss, a.After.Loss, a.Loop.Steps, a.Loop.TokensPerSec)
	require.Less(t, a.After.Loss, a.Before.Loss, "held-out loss falls")
	require.FileExists(t, filepath.Join(a.Out, "embedding_init.json"))

	cfg, err := checkpoint.LoadConfig(a.Out)
	require.NoError(t, err)
	assert.Equal(t, []string{"DebertaV2ForMaskedLM"}, cfg.Architectures)
	assert.Equal(t, checkpoint.ModelDebertaV2, cfg.ModelType)
	assert.InDelta(t, 0.1, cfg.HiddenDropoutProb, 0)
	var args Config
	testutil.ReadJSON(t, filepath.Join(a.Out, "training_args.json"), &args)
	require.NotNil(t, args.Scratch)
	assert.Equal(t, ArchDeBERTaV3, args.Scratch.Arch)

	labels, err := training.NewLabelSet([]string{"O", "B-Disease", "I-Disease"})
	require.NoError(t, err)
	m, fresh, err := training.LoadBase(a.Out, labels, 1)
	require.NoError(t, err)
	require.True(t, fresh)
	require.Equal(t, model.DeBERTaV2, m.Arch)
	for name, v := range m.StateDict() {
		if strings.HasPrefix(name, "deberta.") {
			require.Equal(t, sa[name].Data, v.Data, name)
		}
	}
}

// The DeBERTa-v3 SentencePiece (Unigram) tokenizer works too: its 128k
// vocabulary sizes the model and the folder keeps the spm tokenizer files.
func TestFromScratchDeBERTaSPMTokenizer(t *testing.T) {
	dir := filepath.Join(sharedDir(t), "tokenizers", "deberta-v3")
	tok, err := tokenize.Load(dir)
	require.NoError(t, err)
	res := tinyDeBERTaRun(t, dir, EmbeddingNormal)
	require.Equal(t, tok.VocabSize(), res.Model.Config.VocabSize)
	require.Equal(t, tok.Special().PAD, int32(res.Model.Config.PadTokenID))
	require.FileExists(t, filepath.Join(res.Out, "tokenizer.json"))
	require.Less(t, res.After.Loss, res.Before.Loss)
}
