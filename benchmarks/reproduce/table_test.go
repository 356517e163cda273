package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openmed/openmed/core/corpus"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCurveRowsInProgress: while pre-training runs (no mlm_curve.jsonl yet)
// the curve is step 0 from heldout_before.json plus metrics.jsonl's
// evaluation lines, step lines skipped.
func TestCurveRowsInProgress(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "heldout_before.json"), []byte(`{"loss": 10.3, "accuracy": 0}`), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "metrics.jsonl"), []byte(
		`{"type":"step","step":10,"loss":9.9}
{"type":"eval","step":20,"heldout_loss":9.5,"heldout_accuracy":0.03,"train_loss_since_eval":9.8}
{"type":"step","step":30,"loss":9.1}
{"type":"eval","step":40,"heldout_loss":8.7,"heldout_accuracy":0.05}
`), 0o644))
	rows, err := curveRows(dir)
	require.NoError(t, err)
	require.Len(t, rows, 3)
	assert.EqualValues(t, 0, rows[0]["step"])
	assert.InDelta(t, 10.3, toF(rows[0]["heldout_loss"]), 1e-12)
	assert.EqualValues(t, 20, rows[1]["step"])
	assert.InDelta(t, 9.8, toF(rows[1]["train_loss"]), 1e-12)
	assert.EqualValues(t, 40, rows[2]["step"])

	require.NoError(t, os.WriteFile(filepath.Join(dir, "metrics.jsonl"), []byte("{bad\n"), 0o644))
	_, err = curveRows(dir)
	assert.ErrorContains(t, err, "metrics.jsonl:1")
}

// sigGold writes a synthetic NCBI-Disease test.tsv of n four-token
// sentences with two entities each and returns the data folder and corpus.
func sigGold(t *testing.T, n int) (string, []corpus.Sentence) {
	t.Helper()
	data := t.TempDir()
	var ss []corpus.Sentence
	for i := range n {
		ss = append(ss, corpus.Sentence{Tokens: []corpus.Token{
			{Text: fmt.Sprintf("w%da", i), Tag: "B-Disease"}, {Text: fmt.Sprintf("w%db", i), Tag: "I-Disease"},
			{Text: "and", Tag: "O"}, {Text: fmt.Sprintf("w%dc", i), Tag: "B-Disease"}}})
	}
	require.NoError(t, os.MkdirAll(filepath.Join(data, "NCBI-Disease"), 0o755))
	require.NoError(t, corpus.WriteFile(filepath.Join(data, "NCBI-Disease", "test.tsv"), ss))
	return data, ss
}

// sigPreds copies gold and blanks (all O) the first miss sentences.
func sigPreds(gold []corpus.Sentence, miss int) []corpus.Sentence {
	out := make([]corpus.Sentence, len(gold))
	for i, s := range gold {
		toks := append([]corpus.Token(nil), s.Tokens...)
		if i < miss {
			for k := range toks {
				toks[k].Tag = "O"
			}
		}
		out[i] = corpus.Sentence{Tokens: toks}
	}
	return out
}

// fakeJob writes a job folder: job.json with status, and for a done job
// metrics.json and (when preds is not nil) test_predictions.tsv.
func fakeJob(t *testing.T, o Options, name string, status Status, preds []corpus.Sentence) string {
	t.Helper()
	dir := filepath.Join(o.Work, filepath.FromSlash(name))
	require.NoError(t, (&JobState{Name: name, Status: status, Epochs: 2, MaxEpochs: 2}).save(dir))
	if status == StatusDone {
		require.NoError(t, os.WriteFile(filepath.Join(dir, "metrics.json"), []byte(
			`{"dev":{"micro":{"precision":0.5,"recall":0.5,"f1":0.5}},"test":{"micro":{"precision":0.5,"recall":0.5,"f1":0.5}},"epochs":2,"best_epoch":2}`), 0o644))
	}
	if preds != nil {
		require.NoError(t, corpus.WriteFile(filepath.Join(dir, testPredictions), preds))
	}
	return dir
}

func sigOptions(data, work string) Options {
	o := DefaultOptions()
	o.Data, o.Work, o.Corpora = data, work, []string{"NCBI-Disease"}
	return o
}

// pCells returns a table row's two p-value cells (LoRA vs full, pre-trained
// vs random).
func pCells(t *testing.T, md, method, init string) (string, string) {
	t.Helper()
	prefix := "| NCBI-Disease | " + method + " | " + init + " | "
	for _, l := range strings.Split(md, "\n") {
		if strings.HasPrefix(l, prefix) {
			c := strings.Split(strings.Trim(l, "|"), "|")
			require.Len(t, c, 15, l)
			return strings.TrimSpace(c[6]), strings.TrimSpace(c[7])
		}
	}
	t.Fatalf("no row %q in\n%s", prefix, md)
	return "", ""
}

// TestSignificanceIdenticalPredictions: four runs with the same predictions
// differ nowhere, so every approximate-randomization p-value is exactly 1.
func TestSignificanceIdenticalPredictions(t *testing.T) {
	data, gold := sigGold(t, 30)
	o := sigOptions(data, t.TempDir())
	for _, n := range []string{"lora-pretrained", "lora-random", "full-pretrained", "full-random"} {
		fakeJob(t, o, "NCBI-Disease/"+n, StatusDone, sigPreds(gold, 10))
	}
	md, err := Table(o, nil)
	require.NoError(t, err)
	for _, m := range []string{"lora", "full"} {
		for _, in := range []string{"pretrained", "random"} {
			a, b := pCells(t, md, m, in)
			assert.Equal(t, "1.0000", a, "%s %s", m, in)
			assert.Equal(t, "1.0000", b, "%s %s", m, in)
		}
	}
	st, err := newSignificance(o).Test(Job{Name: "NCBI-Disease/full-random", Kind: KindFineTune, Corpus: "NCBI-Disease", Method: "full", Init: InitRandom}, AxisMethod)
	require.NoError(t, err)
	require.NotNil(t, st.Result)
	assert.Equal(t, 1.0, st.Result.PValue)
	assert.Equal(t, "NCBI-Disease/lora-random", st.A, "LoRA is system A whichever row asks")
	assert.Contains(t, md, "p-value columns:")
}

// TestSignificanceClearlyBetter: a run right on 40 sentences where its
// partner finds nothing gets the smallest p the 10,000 shuffles can give,
// marked; the table is the same on a second call (seeded).
func TestSignificanceClearlyBetter(t *testing.T) {
	data, gold := sigGold(t, 60)
	o := sigOptions(data, t.TempDir())
	good, bad := sigPreds(gold, 0), sigPreds(gold, 40)
	fakeJob(t, o, "NCBI-Disease/lora-pretrained", StatusDone, good)
	fakeJob(t, o, "NCBI-Disease/full-pretrained", StatusDone, bad)
	fakeJob(t, o, "NCBI-Disease/lora-random", StatusDone, bad)
	fakeJob(t, o, "NCBI-Disease/full-random", StatusDone, bad)
	md, err := Table(o, nil)
	require.NoError(t, err)
	lvf, pvr := pCells(t, md, "lora", "pretrained")
	assert.Equal(t, "0.0001*", lvf)
	assert.Equal(t, "0.0001*", pvr)
	lvf, pvr = pCells(t, md, "full", "pretrained")
	assert.Equal(t, "0.0001*", lvf, "both rows of a pair show the same p")
	assert.Equal(t, "1.0000", pvr, "full: pre-trained and random predict the same")
	assert.Contains(t, md, "NCBI-Disease lora: pre-trained 50.00 vs random init 50.00")
	assert.Contains(t, md, "On test: 100.00 vs 50.00 micro-F1, approximate randomization p = 0.0001 (significant at 0.05).")
	// The all-corpora tally (one corpus here): LoRA pre-trained wins both of
	// its comparisons; full pre-trained vs random is a tie.
	assert.Contains(t, md, "- lora: pre-trained vs random init: pre-trained higher on 1 of 1 corpora (significant at 0.05 on 1); random init higher on 0 (significant on 0).")
	assert.Contains(t, md, "- full: pre-trained vs random init: pre-trained higher on 0 of 1 corpora (significant at 0.05 on 0); random init higher on 0 (significant on 0); equal on 1.")
	assert.Contains(t, md, "- pretrained init: LoRA vs full fine-tuning: LoRA higher on 1 of 1 corpora (significant at 0.05 on 1)")
	md2, err := Table(o, nil)
	require.NoError(t, err)
	assert.Equal(t, md, md2)

	st, err := newSignificance(o).Test(Job{Name: "NCBI-Disease/lora-pretrained", Kind: KindFineTune, Corpus: "NCBI-Disease", Method: "lora", Init: InitPretrained}, AxisMethod)
	require.NoError(t, err)
	require.NotNil(t, st.Result)
	assert.Equal(t, SigShuffles, st.Result.Shuffles)
	assert.Equal(t, o.Seed, st.Result.Seed)
	assert.Equal(t, 0, st.Result.Exceed)
	assert.InDelta(t, 1.0/10001, st.Result.PValue, 1e-15)
}

// TestSignificanceMisaligned: a predictions file whose tokens or sentences
// differ from the gold test file fails the table with its path and line.
func TestSignificanceMisaligned(t *testing.T) {
	data, gold := sigGold(t, 10)
	o := sigOptions(data, t.TempDir())
	fakeJob(t, o, "NCBI-Disease/lora-pretrained", StatusDone, sigPreds(gold, 0))
	bad := sigPreds(gold, 0)
	bad[4].Tokens[1].Text = "other" // sentence 5 starts at line 21: its 2nd token is line 22
	dir := fakeJob(t, o, "NCBI-Disease/full-pretrained", StatusDone, bad)
	_, err := Table(o, nil)
	require.Error(t, err)
	path := filepath.Join(dir, testPredictions)
	assert.ErrorContains(t, err, path+":22")
	assert.ErrorContains(t, err, "NCBI-Disease/full-pretrained")
	assert.ErrorContains(t, err, `"other"`)

	// One sentence short.
	require.NoError(t, corpus.WriteFile(path, sigPreds(gold, 0)[:9]))
	_, err = Table(o, nil)
	assert.ErrorContains(t, err, filepath.Join(data, "NCBI-Disease", "test.tsv")+":46")
	assert.ErrorContains(t, err, "sentence 10 has no counterpart in "+path)
}

// TestSignificancePendingPartner: a finished run whose partner is still
// running or not started gets "pending (<partner>)", not an error, and the
// unfinished rows keep empty p cells; an empty work dir needs no gold at all.
func TestSignificancePendingPartner(t *testing.T) {
	data, gold := sigGold(t, 10)
	o := sigOptions(data, t.TempDir())
	fakeJob(t, o, "NCBI-Disease/lora-pretrained", StatusDone, sigPreds(gold, 0))
	fakeJob(t, o, "NCBI-Disease/full-pretrained", StatusRunning, nil)
	md, err := Table(o, nil)
	require.NoError(t, err)
	lvf, pvr := pCells(t, md, "lora", "pretrained")
	assert.Equal(t, "pending (full)", lvf)
	assert.Equal(t, "pending (random)", pvr)
	lvf, pvr = pCells(t, md, "full", "pretrained")
	assert.Equal(t, "", lvf)
	assert.Equal(t, "", pvr)
	assert.Equal(t, 3, countLines(md, "| pending |"), md)

	// A finished partner without predictions (older runs) is n/a, not an error.
	fakeJob(t, o, "NCBI-Disease/full-pretrained", StatusDone, nil)
	md, err = Table(o, nil)
	require.NoError(t, err)
	lvf, _ = pCells(t, md, "lora", "pretrained")
	assert.Equal(t, "n/a (no test_predictions.tsv: full)", lvf)

	// Nothing finished and no data folder: the table still renders.
	o2 := sigOptions(filepath.Join(t.TempDir(), "missing"), t.TempDir())
	md, err = Table(o2, nil)
	require.NoError(t, err)
	assert.Equal(t, 4, countLines(md, "| pending |"), md)
}

// TestTableWholeGridIgnoresRunFilters: a worker started with --only/--jobs
// writes the table of the whole grid (pending rows included), not of its own
// jobs, so it cannot shrink the committed RESULTS.md.
func TestTableWholeGridIgnoresRunFilters(t *testing.T) {
	data, gold := sigGold(t, 30)
	o := sigOptions(data, t.TempDir())
	o.Jobs, o.Methods = []string{"*/lora-pretrained"}, []string{"lora"}
	fakeJob(t, o, "NCBI-Disease/lora-pretrained", StatusDone, sigPreds(gold, 10))
	filtered, err := Table(o, nil)
	require.NoError(t, err)
	assert.NotContains(t, filtered, "| AnatEM | lora | pretrained |")
	w := o.wholeGrid()
	assert.Empty(t, w.Corpora)
	assert.Empty(t, w.Jobs)
	whole, err := Table(w, nil)
	require.NoError(t, err)
	for _, c := range Corpora {
		for _, m := range []string{"lora", "full"} {
			assert.Contains(t, whole, "| "+c+" | "+m+" | random |", "%s %s", c, m)
		}
	}
	assert.Contains(t, whole, "| NCBI-Disease | lora | pretrained | ")
	assert.Equal(t, o.Data, w.Data)
	assert.Equal(t, o.Work, w.Work)
}
