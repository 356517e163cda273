package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/openmed/openmed/core/tokenize"
	"github.com/openmed/openmed/internal/testutil"
)

// sharedDir is ../shared beside the repository root (the folder with
// go.mod); tests that need it skip when it is absent.
func sharedDir(t *testing.T) string {
	return testutil.SharedDir(t)
}

func TestStatusOf(t *testing.T) {
	cases := []struct {
		err  error
		want Status
	}{
		{nil, StatusOK},
		{badInput("x %d", 1), StatusBadInput},
		{fmt.Errorf("wrapped: %w", notFound("h")), StatusNotFound},
		{notAvailable("tagging"), StatusNotAvailable},
		{fmt.Errorf("open: %w", os.ErrNotExist), StatusNotFound},
		{fmt.Errorf("train: %w", errCancelled), StatusCancelled},
		{errors.New("boom"), StatusInternal},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, statusOf(c.err), "%v", c.err)
	}
	assert.Equal(t, "OPENMED_NOT_AVAILABLE", StatusNotAvailable.String())
	assert.Contains(t, notAvailable("tagging").Error(), "tagging: not available yet")
}

func TestDecodeJSON(t *testing.T) {
	var req tokenizeRequest
	require.NoError(t, decodeJSON(`{"texts":["a"],"max_length":4}`, &req))
	assert.Equal(t, []string{"a"}, req.Texts)
	assert.Equal(t, 4, req.MaxLength)
	err := decodeJSON(`{"text":["a"]}`, &req)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `"text"`)
	err = decodeJSON(`{"texts":["a"]} {}`, &req)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "trailing data")
	err = decodeJSON(`{"texts":[`, &req)
	require.Error(t, err)
}

func TestHandles(t *testing.T) {
	before := openHandles()
	j := newJob()
	h := newHandle(kindJob, j)
	assert.NotZero(t, h)
	obj, err := lookup(h, kindJob)
	require.NoError(t, err)
	assert.Same(t, j, obj)
	_, err = lookup(h, kindTokenizer)
	assert.Equal(t, StatusBadInput, statusOf(err))
	assert.Contains(t, err.Error(), "is a job, not a tokenizer")
	_, err = lookup(0, kindJob)
	assert.Equal(t, StatusBadInput, statusOf(err))
	require.NoError(t, closeHandle(h, kindJob))
	assert.Error(t, j.ctx.Err(), "closing a job handle cancels it")
	_, err = lookup(h, kindJob)
	assert.Equal(t, StatusNotFound, statusOf(err))
	assert.Equal(t, StatusNotFound, statusOf(closeHandle(h, kindJob)))
	h2 := newHandle(kindJob, newJob())
	assert.Greater(t, h2, h, "handles are never reused")
	require.NoError(t, closeHandle(h2, kindJob))
	assert.Equal(t, before, openHandles())
}

func TestJobStartTwice(t *testing.T) {
	j := newJob()
	require.NoError(t, j.start())
	err := j.start()
	assert.Equal(t, StatusBadInput, statusOf(err))
	j.finish()
	require.NoError(t, j.start())
}

func TestRunTokenize(t *testing.T) {
	tk, err := tokenize.Load(filepath.Join(sharedDir(t), "tokenizers", "pubmedbert-abstract"))
	require.NoError(t, err)
	res, err := runTokenize(tk, tokenizeRequest{Texts: []string{"Aspirin µg", ""}})
	require.NoError(t, err)
	require.Len(t, res.Encodings, 2)
	e := res.Encodings[0]
	assert.Equal(t, "[CLS]", e.Tokens[0])
	assert.Equal(t, "[SEP]", e.Tokens[len(e.Tokens)-1])
	assert.Nil(t, e.WordIDs[0])
	assert.Equal(t, [2]int{0, 0}, e.Offsets[0])
	// code-point offsets: "µg" starts at code point 8 (byte 8) and ends at 10
	last := e.Offsets[len(e.Offsets)-2]
	assert.Equal(t, 10, last[1], "offsets are code points, not bytes (µ is 2 bytes)")
	assert.Equal(t, []string{"[CLS]", "[SEP]"}, res.Encodings[1].Tokens)

	_, err = runTokenize(tk, tokenizeRequest{})
	assert.Equal(t, StatusBadInput, statusOf(err))
	_, err = runTokenize(tk, tokenizeRequest{Texts: []string{"a"}, MaxLength: -1})
	assert.Equal(t, StatusBadInput, statusOf(err))
	off := false
	res, err = runTokenize(tk, tokenizeRequest{Words: [][]string{{"IL-2", "gene"}}, AddSpecialTokens: &off, MaxLength: 2})
	require.NoError(t, err)
	assert.Len(t, res.Encodings[0].IDs, 2)
	assert.Equal(t, 0, *res.Encodings[0].WordIDs[0])
}

func TestRunEvaluate(t *testing.T) {
	rep, err := runEvaluate(evaluateRequest{
		Gold: [][]string{{"B-D", "I-D", "O", "B-D"}},
		Pred: [][]string{{"B-D", "I-D", "O", "O"}},
	})
	require.NoError(t, err)
	assert.InDelta(t, 1.0, rep.Micro.Precision, 1e-12)
	assert.InDelta(t, 0.5, rep.Micro.Recall, 1e-12)
	assert.InDelta(t, 2.0/3.0, rep.Micro.F1, 1e-12)

	// strict IOB2: an I- without B- is not an entity
	rep, err = runEvaluate(evaluateRequest{
		Gold: [][]string{{"B-D", "I-D"}}, Pred: [][]string{{"I-D", "I-D"}}, Mode: "strict",
	})
	require.NoError(t, err)
	assert.Equal(t, 0, rep.Micro.Correct)
	rep, err = runEvaluate(evaluateRequest{Gold: [][]string{{"B-D", "I-D"}}, Pred: [][]string{{"I-D", "I-D"}}})
	require.NoError(t, err)
	assert.Equal(t, 1, rep.Micro.Correct, "default mode is seqeval's lenient decoding")

	for _, bad := range []evaluateRequest{
		{},
		{Gold: [][]string{{"O"}}},
		{Gold: [][]string{{"O"}}, Pred: [][]string{{"O"}, {"O"}}},
		{Gold: [][]string{{"O"}}, Pred: [][]string{{"O"}}, Mode: "loose"},
		{Gold: [][]string{{"O"}}, Pred: [][]string{{"O"}}, Scheme: "XYZ", Mode: "strict"},
		{Gold: [][]string{{"O"}}, Pred: [][]string{{"O"}}, GoldFile: "g"},
		{GoldFile: "g"},
	} {
		_, err := runEvaluate(bad)
		assert.Equal(t, StatusBadInput, statusOf(err), "%+v: %v", bad, err)
	}
	_, err = runEvaluate(evaluateRequest{GoldFile: "/nonexistent/g.tsv", PredFile: "/nonexistent/p.tsv"})
	assert.Equal(t, StatusNotFound, statusOf(err))
	assert.Contains(t, err.Error(), "/nonexistent/g.tsv")
}

func TestRunEvaluateFiles(t *testing.T) {
	dev := filepath.Join(sharedDir(t), "data", "NCBI-Disease", "devel.tsv")
	rep, err := runEvaluate(evaluateRequest{GoldFile: dev, PredFile: dev})
	require.NoError(t, err)
	assert.InDelta(t, 1.0, rep.Micro.F1, 1e-12)
	assert.Positive(t, rep.Micro.Support)
	bad := filepath.Join(t.TempDir(), "bad.tsv")
	require.NoError(t, os.WriteFile(bad, []byte("tok\tB-X\textra\ntok\n"), 0o644))
	_, err = runEvaluate(evaluateRequest{GoldFile: bad, PredFile: bad})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "bad.tsv")
}

func TestCallRecoversPanics(t *testing.T) {
	st := call("openmed_test", nil, func() error { panic("boom") })
	assert.Equal(t, int(StatusInternal), int(st))
	st = call("openmed_test", nil, func() error { var m map[string]int; m["x"] = 1; return nil })
	assert.Equal(t, int(StatusInternal), int(st), "a runtime error panic is recovered too")
	st = call("openmed_test", nil, func() error { return notFound("gone") })
	assert.Equal(t, int(StatusNotFound), int(st))
	st = call("openmed_test", nil, func() error { return nil })
	assert.Equal(t, int(StatusOK), int(st))
}

func TestFreeRefusesUnknownPointers(t *testing.T) {
	before := liveBuffers()
	var x int
	err := freeBuffer(unsafe.Pointer(&x))
	assert.Equal(t, StatusBadInput, statusOf(err))
	assert.Contains(t, err.Error(), "was not returned by libopenmed or was already freed")
	assert.Equal(t, before, liveBuffers())
}

func TestBufferLifecycle(t *testing.T) {
	before := liveBuffers()
	p := unsafe.Pointer(newCString("result"))
	assert.Equal(t, before+1, liveBuffers())
	require.NoError(t, freeBuffer(p))
	assert.Equal(t, before, liveBuffers())
	assert.Equal(t, StatusBadInput, statusOf(freeBuffer(p)), "double free is refused")
}
