package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/openmed/openmed/core/checkpoint"
	"github.com/openmed/openmed/core/model"
	"github.com/openmed/openmed/core/tagger"
	"github.com/openmed/openmed/core/tokenize"
	"github.com/openmed/openmed/internal/testutil"
	"github.com/openmed/openmed/models"
)

// fixtureTagger copies the fixture BERT (vocab 128, five labels) and gives it
// a 128-entry WordPiece vocab.txt so the CLI can tag text with it.
func fixtureTagger(t *testing.T) string {
	t.Helper()
	fx := sharedPath(t, "fixtures", "bert")
	dir := filepath.Join(t.TempDir(), "model")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	for _, f := range []string{"config.json", "model.safetensors"} {
		data, err := os.ReadFile(filepath.Join(fx, f))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, f), data, 0o644))
	}
	vocab := []string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "renal", "failure", "aspirin", "in", "mice", "the", "of", "and", "with", "patients", "cancer", ".", ",", "-", "(", ")"}
	for c := 'a'; c <= 'z'; c++ {
		vocab = append(vocab, string(c), "##"+string(c))
	}
	for len(vocab) < 128 {
		vocab = append(vocab, fmt.Sprintf("[unused%d]", len(vocab)))
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "vocab.txt"), []byte(strings.Join(vocab, "\n")+"\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "tokenizer_config.json"), []byte(`{"do_lower_case": true}`), 0o644))
	return dir
}

// loraPathTol is the tolerance for scores of the merged model in merged vs
// the adapter in adapterDir attached unmerged to base (tokenizer in base)
// on text: the reordering bound of each adapted layer's LoRA path (see
// TestTagCommandAdapters), relative to the merged model's largest |logit|
// (softmax's Jacobian is at most 1 in the max norm; scores average
// probabilities).
func loraPathTol(t *testing.T, merged, base, adapterDir, text string) float64 {
	t.Helper()
	m, err := model.Load(merged, model.TokenClassification)
	require.NoError(t, err)
	m.SetTraining(false)
	tok, err := tokenize.Load(base)
	require.NoError(t, err)
	enc, err := tok.Encode(text)
	require.NoError(t, err)
	mask := make([]float32, enc.Len())
	for i := range mask {
		mask[i] = 1
	}
	lg, err := m.Forward(&model.Batch{Batch: 1, SeqLen: enc.Len(), InputIDs: enc.IDs, AttentionMask: mask, TokenTypeIDs: enc.TypeIDs})
	require.NoError(t, err)
	scale := 1.0
	for _, v := range lg.Data {
		scale = math.Max(scale, math.Abs(float64(v)))
	}
	ac, err := checkpoint.LoadAdapterConfig(filepath.Join(adapterDir, checkpoint.AdapterConfigFile))
	require.NoError(t, err)
	var red []int
	for range m.Config.NumHiddenLayers {
		red = append(red, m.Config.HiddenSize, ac.R, 2)
	}
	return testutil.ReorderTol(red...) * scale
}

func runTagCmd(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	return execCmdIn(newTagCmd(), stdin, append([]string{"--backend", "go", "--quiet"}, args...)...)
}

type cliEntity struct {
	Group, Entity string
	Word          string
	Start, End    int
}

func (e *cliEntity) UnmarshalJSON(b []byte) error {
	var raw struct {
		EntityGroup string `json:"entity_group"`
		Entity      string `json:"entity"`
		Word        string `json:"word"`
		Start, End  int
	}
	err := json.Unmarshal(b, &raw)
	*e = cliEntity{raw.EntityGroup, raw.Entity, raw.Word, raw.Start, raw.End}
	return err
}

// TestTagCommandFormats tags with the fixture model in every format and
// checks the structure: json/jsonl entities whose code-point offsets slice
// the text to their word, one jsonl line per input line, conll one word per
// line, brat T-lines with code-point offsets.
func TestTagCommandFormats(t *testing.T) {
	model := fixtureTagger(t)
	text := "Renal failure in mice — aspirin, cancer patients."
	runes := []rune(text)

	out, err := runTagCmd(t, "", "--model", model, "--text", text, "--ignore-labels=")
	require.NoError(t, err, out)
	var doc struct {
		Text     string      `json:"text"`
		Entities []cliEntity `json:"entities"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &doc), out)
	assert.Equal(t, text, doc.Text)
	require.NotEmpty(t, doc.Entities)
	covered := 0
	for _, e := range doc.Entities {
		assert.NotEmpty(t, e.Group)
		assert.Equal(t, string(runes[e.Start:e.End]), e.Word)
		covered += e.End - e.Start
	}
	assert.Greater(t, covered, 20, "with no ignored labels the groups cover the words")

	in := "Renal failure in mice.\n{\"text\": \"aspirin — cancer\"}\n\n"
	out, err = runTagCmd(t, in, "--model", model, "--format", "jsonl", "--aggregation", "first", "--ignore-labels=")
	require.NoError(t, err, out)
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	require.Len(t, lines, 3, out)
	for i, want := range []string{"Renal failure in mice.", "aspirin — cancer", ""} {
		var d struct {
			Text     string      `json:"text"`
			Entities []cliEntity `json:"entities"`
		}
		require.NoError(t, json.Unmarshal([]byte(lines[i]), &d))
		assert.Equal(t, want, d.Text)
		assert.NotNil(t, d.Entities)
		for _, e := range d.Entities {
			assert.Equal(t, string([]rune(want)[e.Start:e.End]), e.Word)
		}
	}

	out, err = runTagCmd(t, "", "--model", model, "--text", text, "--format", "conll")
	require.NoError(t, err, out)
	sc := bufio.NewScanner(strings.NewReader(out))
	var words []string
	for sc.Scan() {
		if sc.Text() == "" {
			continue
		}
		w, tag, ok := strings.Cut(sc.Text(), "\t")
		require.True(t, ok, sc.Text())
		assert.Regexp(t, `^(O|[BI]-(Disease|Chemical))$`, tag)
		words = append(words, w)
	}
	assert.Equal(t, []string{"Renal", "failure", "in", "mice", "—", "aspirin", ",", "cancer", "patients", "."}, words)

	f := filepath.Join(t.TempDir(), "doc.txt")
	require.NoError(t, os.WriteFile(f, []byte(text), 0o644))
	out, err = runTagCmd(t, "", "--model", model, "--input", f, "--format", "brat", "--ignore-labels=")
	require.NoError(t, err, out)
	n := 0
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var id, label string
		var s, e int
		parts := strings.Split(l, "\t")
		require.Len(t, parts, 3, l)
		_, err := fmt.Sscanf(parts[0]+" "+parts[1], "%s %s %d %d", &id, &label, &s, &e)
		require.NoError(t, err, l)
		assert.Equal(t, fmt.Sprintf("T%d", n+1), id)
		assert.Equal(t, string(runes[s:e]), parts[2])
		n++
	}
	assert.Greater(t, n, 0)
	assert.True(t, utf8.ValidString(out))
}

func TestTagCommandErrors(t *testing.T) {
	model := fixtureTagger(t)
	_, err := runTagCmd(t, "", "--model", model, "--text", "x", "--format", "xml")
	assert.ErrorContains(t, err, "xml")
	_, err = runTagCmd(t, "", "--model", model, "--text", "bad \xff")
	assert.ErrorContains(t, err, "UTF-8")
	_, err = runTagCmd(t, "{\"txt\": 1}\n", "--model", model, "--format", "jsonl")
	assert.ErrorContains(t, err, "stdin:1")
	_, err = runTagCmd(t, "", "--model", model, "--text", "x", "--adapter", "nodir")
	assert.ErrorContains(t, err, "nodir has no adapter_config.json", "a bare DIR is an adapter folder named after it")
	_, err = runTagCmd(t, "", "--model", model, "--text", "x", "--adapter", "=dir")
	assert.ErrorContains(t, err, "NAME=DIR")
	_, err = runTagCmd(t, "", "--model", filepath.Join(t.TempDir(), "missing"), "--text", "x")
	assert.ErrorContains(t, err, "missing")
}

func TestTagCommandRegistered(t *testing.T) {
	for _, name := range []string{"tag", "merge"} {
		c, _, err := rootCmd.Find([]string{name})
		require.NoError(t, err)
		assert.Equal(t, name, c.Name())
	}
}

// TestTagCommandAdapters: --adapter + --use gives what tagging the merged
// model gives; --all-adapters marks each entity with its adapter and lists a
// typed span found by two adapters once.
func TestTagCommandAdapters(t *testing.T) {
	model := fixtureTagger(t)
	adapter := sharedPath(t, "fixtures", "bert", "adapter")
	merged := filepath.Join(t.TempDir(), "merged")
	_, err := execCmd(newMergeCmd(), "--base", model, "--adapter", adapter, "--out", merged)
	require.NoError(t, err)
	text := "Renal failure in mice — aspirin, cancer patients."
	want, err := runTagCmd(t, "", "--model", merged, "--text", text, "--format", "jsonl", "--ignore-labels=")
	require.NoError(t, err, want)
	got, err := runTagCmd(t, "", "--model", model, "--adapter", "a="+adapter, "--use", "a", "--text", text, "--format", "jsonl", "--ignore-labels=")
	require.NoError(t, err, got)
	var wd, gd struct {
		Entities []map[string]any `json:"entities"`
	}
	require.NoError(t, json.Unmarshal([]byte(want), &wd))
	require.NoError(t, json.Unmarshal([]byte(got), &gd))
	require.Len(t, gd.Entities, len(wd.Entities))
	// Merged weights vs the unmerged LoRA path (same kernels and shapes
	// otherwise): each adapted layer's down-projection (K = hidden), up-
	// projection and B@A (K = r) and scale-and-add, relative to the logits.
	tol := loraPathTol(t, merged, model, adapter, text)
	for i, w := range wd.Entities {
		g := gd.Entities[i]
		for _, k := range []string{"entity_group", "word", "start", "end"} {
			assert.Equal(t, w[k], g[k], "entity %d %s", i, k)
		}
		assert.InDelta(t, w["score"], g["score"], tol, "entity %d", i)
	}
	base, err := runTagCmd(t, "", "--model", model, "--text", text, "--format", "jsonl", "--ignore-labels=")
	require.NoError(t, err)
	assert.NotEqual(t, want, base, "the adapter changes the predictions")

	all, err := runTagCmd(t, "", "--model", model, "--adapter", "a="+adapter, "--adapter", "b="+adapter, "--all-adapters", "--text", text, "--format", "jsonl", "--ignore-labels=")
	require.NoError(t, err, all)
	var d struct {
		Entities []map[string]any `json:"entities"`
	}
	require.NoError(t, json.Unmarshal([]byte(all), &d))
	// a and b are the same adapter: every typed entity ties and a (attached
	// first) keeps it; O groups are each adapter's own and both stay.
	count := map[any]int{}
	for _, e := range d.Entities {
		count[e["adapter"]]++
		if e["adapter"] == "b" {
			assert.Equal(t, "O", e["entity_group"], "b's typed entities merge into a's: %v", e)
		}
	}
	outside := 0
	for _, e := range gd.Entities {
		if e["entity_group"] == "O" {
			outside++
		}
	}
	assert.Less(t, outside, len(gd.Entities), "the adapter finds typed entities")
	assert.Equal(t, len(gd.Entities), count["a"], "a contributes all its entities")
	assert.Equal(t, outside, count["b"], "b contributes only its O groups")
	assert.Equal(t, len(d.Entities), count["a"]+count["b"])
}

// defaultManifestDir writes a stand-in default tagger folder: the fixture
// model as base and two adapters made from the fixture PEFT adapter (the
// second with its LoRA B matrices tripled, so the two tag differently),
// each with the base's config.json (id2label), and default.json.
func defaultManifestDir(t *testing.T) string {
	t.Helper()
	base := fixtureTagger(t)
	root := t.TempDir()
	require.NoError(t, os.Rename(base, filepath.Join(root, "base")))
	cfg, err := os.ReadFile(filepath.Join(root, "base", "config.json"))
	require.NoError(t, err)
	src := sharedPath(t, "fixtures", "bert", "adapter")
	for name, scale := range map[string]float32{"dis": 1, "chem": 3} {
		dir := filepath.Join(root, name)
		require.NoError(t, os.MkdirAll(dir, 0o755))
		ac, err := os.ReadFile(filepath.Join(src, checkpoint.AdapterConfigFile))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, checkpoint.AdapterConfigFile), ac, 0o644))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "config.json"), cfg, 0o644))
		w, err := checkpoint.ReadSafetensors(filepath.Join(src, "adapter_model.safetensors"))
		require.NoError(t, err)
		for k, v := range w {
			if strings.Contains(k, "lora_B") {
				for i := range v.Data {
					v.Data[i] *= scale
				}
			}
		}
		require.NoError(t, checkpoint.WriteSafetensors(filepath.Join(dir, "adapter_model.safetensors"), w, map[string]string{"format": "pt"}))
	}
	manifest := `{"base": "base", "adapters": {"disease": "dis", "chemical": "chem"}, "tag_with": "all"}`
	require.NoError(t, os.WriteFile(filepath.Join(root, "default.json"), []byte(manifest), 0o644))
	return root
}

// TestTagCommandDefault: `openmed tag TEXT` without --model uses the default
// tagger — here $OPENMED_MODEL naming a default.json folder — and prints the
// union of its adapters' entities, equal to attaching the same adapters to
// the base explicitly with --all-adapters; --model on the folder does the
// same; --format conll asks for --use. Without $OPENMED_MODEL the binary's
// embedded default is used when shipped, and otherwise the error says the
// models are not shipped.
func TestTagCommandDefault(t *testing.T) {
	root := defaultManifestDir(t)
	text := "Renal failure in mice — aspirin, cancer patients."
	testutil.TempCache(t)
	t.Setenv("OPENMED_MODEL", root)
	got, err := runTagCmd(t, "", text, "--format", "jsonl", "--ignore-labels=")
	require.NoError(t, err, got)
	want, err := runTagCmd(t, "", "--model", filepath.Join(root, "base"), "--adapter", "chemical="+filepath.Join(root, "chem"),
		"--adapter", "disease="+filepath.Join(root, "dis"), "--all-adapters", "--text", text, "--format", "jsonl", "--ignore-labels=")
	require.NoError(t, err, want)
	var gd, wd struct {
		Entities []map[string]any `json:"entities"`
	}
	require.NoError(t, json.Unmarshal([]byte(got), &gd), got)
	require.NoError(t, json.Unmarshal([]byte(want), &wd), want)
	require.Len(t, gd.Entities, len(wd.Entities))
	count := map[any]int{}
	for i, w := range wd.Entities {
		g := gd.Entities[i]
		for _, k := range []string{"entity_group", "word", "start", "end", "adapter"} {
			assert.Equal(t, w[k], g[k], "entity %d %s", i, k)
		}
		assert.InDelta(t, w["score"], g["score"], 0, "entity %d", i) // the same base and adapters attached the same way, same kernels and shapes: bit-identical
		count[g["adapter"]]++
	}
	assert.Positive(t, count["disease"])
	assert.Positive(t, count["chemical"])
	assert.Equal(t, len(gd.Entities), count["disease"]+count["chemical"], "every entity names its adapter")

	// --overlap any: a flat list — no two typed entities overlap, and every
	// one of them is an entity of the same-type union.
	flatOut, err := runTagCmd(t, "", text, "--format", "jsonl", "--overlap", "any")
	require.NoError(t, err, flatOut)
	typedOut, err := runTagCmd(t, "", text, "--format", "jsonl")
	require.NoError(t, err, typedOut)
	var fd, td struct {
		Entities []map[string]any `json:"entities"`
	}
	require.NoError(t, json.Unmarshal([]byte(flatOut), &fd), flatOut)
	require.NoError(t, json.Unmarshal([]byte(typedOut), &td), typedOut)
	require.NotEmpty(t, fd.Entities)
	assert.LessOrEqual(t, len(fd.Entities), len(td.Entities))
	for i, a := range fd.Entities {
		assert.Contains(t, td.Entities, a, "flat entity %d is one of the union's", i)
		for _, b := range fd.Entities[i+1:] {
			assert.False(t, a["start"].(float64) < b["end"].(float64) && b["start"].(float64) < a["end"].(float64),
				"flat entities overlap: %v and %v", a, b)
		}
	}
	_, err = runTagCmd(t, "", text, "--overlap", "nested")
	assert.ErrorContains(t, err, "--overlap")

	t.Setenv("OPENMED_MODEL", "")
	byModel, err := runTagCmd(t, "", "--model", root, text, "--format", "jsonl", "--ignore-labels=")
	require.NoError(t, err, byModel)
	assert.Equal(t, got, byModel, "--model on the manifest folder")
	union, err := runTagCmd(t, "", "--model", root, text, "--format", "conll")
	require.NoError(t, err, "conll with several adapters: the flat union")
	assert.Contains(t, union, "aspirin\t")
	conll, err := runTagCmd(t, "", "--model", root, text, "--format", "conll", "--use", "disease")
	require.NoError(t, err, conll)
	assert.Contains(t, conll, "aspirin\t")

	// The embedded default (package models).
	em, st, miss, err := tagger.CheckManifestFS(models.FS)
	require.NoError(t, err)
	if st == tagger.ManifestComplete && em.BaseEncoder != "" {
		testutil.EncoderCache(t, em.BaseEncoder)
	}
	t.Chdir(t.TempDir())
	out, err := runTagCmd(t, "", "Famotidine-associated delirium in a patient with cisplatin-induced nephrotoxicity.")
	if st == tagger.ManifestComplete {
		require.NoError(t, err, out)
		var d struct {
			Entities []map[string]any `json:"entities"`
		}
		require.NoError(t, json.Unmarshal([]byte(out), &d), out)
		assert.NotEmpty(t, d.Entities, "the shipped default tagger finds entities")
		return
	}
	require.ErrorIs(t, err, tagger.ErrNoDefaultModel)
	assert.Contains(t, err.Error(), "not shipped")
	t.Logf("default tagger not shipped yet (%s: %v): %v", st, miss, err)
}

// A long document lowers the GC target to longDocumentGCPercent unless the
// user set GOGC or GOMEMLIMIT.
func TestLongDocumentGC(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	longDocumentGC()
	assert.Equal(t, longDocumentGCPercent, debug.SetGCPercent(100))
	t.Setenv("GOGC", "100")
	longDocumentGC()
	assert.Equal(t, 100, debug.SetGCPercent(100), "the user's GOGC wins")
}

// TestTagGroupsDocuments: JSONL documents are tagged in groups (one TagBatch
// call) with the same spans as one call each, and a bad document inside a
// group is still named by its line.
func TestTagGroupsDocuments(t *testing.T) {
	model := fixtureTagger(t)
	lines := []string{"aspirin in mice", "renal failure with cancer of the patients and aspirin in mice .", "the cancer", "patients with renal failure"}
	grouped, err := runTagCmd(t, strings.Join(lines, "\n")+"\n", "--model", model, "--format", "jsonl", "--ignore-labels=")
	require.NoError(t, err)
	got := strings.Split(strings.TrimSpace(grouped), "\n")
	require.Len(t, got, len(lines))
	spans := func(l string) []cliEntity {
		var d struct{ Entities []cliEntity }
		require.NoError(t, json.Unmarshal([]byte(l), &d))
		return d.Entities // spans and labels: batching may change the scores' last float32 digits
	}
	total := 0
	for i, l := range lines {
		one, err := runTagCmd(t, l+"\n", "--model", model, "--format", "jsonl", "--ignore-labels=")
		require.NoError(t, err)
		assert.Equal(t, spans(strings.TrimSpace(one)), spans(got[i]), "line %d", i+1)
		total += len(spans(got[i]))
	}
	assert.Positive(t, total, "the fixture tags something")
	bad := append(slices.Clone(lines[:2]), "bad \xff", lines[3])
	_, err = runTagCmd(t, strings.Join(bad, "\n")+"\n", "--model", model, "--format", "jsonl")
	assert.ErrorContains(t, err, "stdin:3")
	assert.ErrorContains(t, err, "UTF-8")
}
