package tagger

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/openmed/openmed/core/checkpoint"
	"github.com/openmed/openmed/core/onnx"
	"github.com/openmed/openmed/internal/testutil"
)

// ortExportFixture writes the ONNX export of a shared fixture into a temp dir.
func ortExportFixture(t *testing.T, arch string) (dir string, c *ortFixtureCase) {
	t.Helper()
	fx := filepath.Join(ortSharedDir(t), "fixtures", arch)
	out := t.TempDir()
	_, err := onnx.Export(fx, out, onnx.ExportOptions{})
	require.NoError(t, err)
	return out, ortLoadCase(t, filepath.Join(fx, "case.json"))
}

// TestORTMatchesHFLogits is the export→ORT parity test: the Go-written graph,
// run by ONNX Runtime, reproduces transformers' logits at every position
// (padded ones included) within 1e-4.
func TestORTMatchesHFLogits(t *testing.T) {
	for _, arch := range []string{"bert", "electra", "deberta_v3"} {
		t.Run(arch, func(t *testing.T) {
			ortRequire(t)
			dir, c := ortExportFixture(t, arch)
			be, err := NewORT(dir, ORTOptions{IntraOpThreads: 1, NoSpin: arch == "electra"})
			require.NoError(t, err)
			defer be.Close()
			want := c.Outputs.Logits
			require.Equal(t, want.Shape[2], be.NumLabels())
			assert.Equal(t, arch != "deberta_v3", be.UsesTokenTypes(), "DeBERTa-v3 has type_vocab_size 0")

			got, err := be.Logits(c.Inputs.InputIDs.rows(t), c.Inputs.AttentionMask.rows(t), c.Inputs.TokenTypeIDs.rows(t))
			require.NoError(t, err)
			require.Equal(t, want.Shape, got.Shape)
			maxDiff := 0.0
			for i, w := range want.Data {
				maxDiff = math.Max(maxDiff, math.Abs(float64(got.Data[i])-w))
			}
			t.Logf("%s: max |ORT − HF| over %d logits = %.3g", arch, len(want.Data), maxDiff)
			// HF parity bar (DEVELOPERS.md): ~25× the √K·u·|logit| ≈ 4e-6 drift of two float32 sum orders here (K ≈ 520 on a path, |logit| ≤ 3).
			assert.LessOrEqual(t, maxDiff, 1e-4)
		})
	}
}

// TestORTBatchIndependence checks dynamic shapes: each row run alone (batch 1,
// its own length) gives the same logits as inside the padded batch.
func TestORTBatchIndependence(t *testing.T) {
	ortRequire(t)
	dir, c := ortExportFixture(t, "bert")
	be, err := NewORT(dir, ORTOptions{IntraOpThreads: 1})
	require.NoError(t, err)
	defer be.Close()
	ids, mask, types := c.Inputs.InputIDs.rows(t), c.Inputs.AttentionMask.rows(t), c.Inputs.TokenTypeIDs.rows(t)
	full, err := be.Logits(ids, mask, types)
	require.NoError(t, err)
	seq, labels := full.Shape[1], full.Shape[2]
	// Row 1 has 9 real tokens; cut it to them.
	n := 0
	for _, m := range mask[1] {
		n += int(m)
	}
	require.Less(t, n, seq)
	one, err := be.Logits([][]int64{ids[1][:n]}, [][]int64{mask[1][:n]}, [][]int64{types[1][:n]})
	require.NoError(t, err)
	require.Equal(t, []int{1, n, labels}, one.Shape)
	// Batch 2 × 12 and batch 1 × 9 run other MLAS blockings: the reordering
	// bound of the fixture encoder's path at 12 tokens, relative to the logits.
	cfg, err := checkpoint.LoadConfig(filepath.Join(ortSharedDir(t), "fixtures", "bert"))
	require.NoError(t, err)
	scale := 1.0
	for _, v := range full.Data {
		scale = math.Max(scale, math.Abs(float64(v)))
	}
	tol := testutil.ReorderTol(testutil.EncoderReductions(cfg.NumHiddenLayers, cfg.HiddenSize, cfg.NumAttentionHeads, cfg.IntermediateSize, seq)...) * scale
	maxDiff := 0.0
	for p := 0; p < n; p++ {
		for k := 0; k < labels; k++ {
			assert.InDelta(t, full.Data[(seq+p)*labels+k], one.Data[p*labels+k], tol, "pos %d label %d", p, k)
			maxDiff = math.Max(maxDiff, math.Abs(float64(full.Data[(seq+p)*labels+k]-one.Data[p*labels+k])))
		}
	}
	t.Logf("batch vs alone: max |Δlogit| %.3g, tolerance %.3g", maxDiff, tol)
}

// TestORTConcurrent runs the same session from several goroutines.
func TestORTConcurrent(t *testing.T) {
	ortRequire(t)
	dir, c := ortExportFixture(t, "electra")
	be, err := NewORT(dir, ORTOptions{IntraOpThreads: 1})
	require.NoError(t, err)
	defer be.Close()
	ids, mask, types := c.Inputs.InputIDs.rows(t), c.Inputs.AttentionMask.rows(t), c.Inputs.TokenTypeIDs.rows(t)
	ref, err := be.Logits(ids, mask, types)
	require.NoError(t, err)
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for g := range errs {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				got, err := be.Logits(ids, mask, types)
				if err != nil {
					errs[g] = err
					return
				}
				for j := range ref.Data {
					if got.Data[j] != ref.Data[j] {
						errs[g] = fmt.Errorf("goroutine %d run %d: logit %d = %v, want %v", g, i, j, got.Data[j], ref.Data[j])
						return
					}
				}
			}
		}(g)
	}
	wg.Wait()
	for _, err := range errs {
		assert.NoError(t, err)
	}
}

func TestORTErrors(t *testing.T) {
	ortRequire(t)
	dir, c := ortExportFixture(t, "bert")

	t.Run("missing file", func(t *testing.T) {
		_, err := NewORT(filepath.Join(t.TempDir(), "nope.onnx"), ORTOptions{})
		require.Error(t, err)
		assert.Contains(t, err.Error(), "nope.onnx")
	})
	t.Run("folder without model", func(t *testing.T) {
		_, err := NewORT(t.TempDir(), ORTOptions{})
		require.Error(t, err)
		assert.Contains(t, err.Error(), "onnx/model.onnx")
	})
	t.Run("not an onnx file", func(t *testing.T) {
		bad := filepath.Join(t.TempDir(), "model.onnx")
		require.NoError(t, os.WriteFile(bad, []byte("not a protobuf"), 0o644))
		_, err := NewORT(bad, ORTOptions{})
		require.Error(t, err)
		assert.Contains(t, err.Error(), bad)
	})
	t.Run("wrong library path", func(t *testing.T) {
		missing := filepath.Join(t.TempDir(), "libonnxruntime.so.1")
		_, err := NewORT(dir, ORTOptions{LibraryPath: missing})
		require.Error(t, err)
		assert.Contains(t, err.Error(), missing)
		assert.Contains(t, err.Error(), "no such file")
		other := filepath.Join(t.TempDir(), "libother.so")
		require.NoError(t, os.WriteFile(other, []byte("x"), 0o644))
		_, err = NewORT(dir, ORTOptions{LibraryPath: other})
		assert.ErrorContains(t, err, "already initialised")
		t.Setenv(EnvORTLib, missing)
		_, err = ResolveORTLibrary("")
		require.Error(t, err)
		assert.Contains(t, err.Error(), EnvORTLib)
	})
	t.Run("cuda unavailable", func(t *testing.T) {
		_, err := NewORT(dir, ORTOptions{Device: DeviceCUDA})
		require.Error(t, err)
		assert.Contains(t, err.Error(), "CUDA")
		assert.Contains(t, err.Error(), "--device cpu")
	})
	t.Run("ragged and mismatched input", func(t *testing.T) {
		be, err := NewORT(dir, ORTOptions{IntraOpThreads: 1})
		require.NoError(t, err)
		defer be.Close()
		_, err = be.Logits(nil, nil, nil)
		assert.ErrorContains(t, err, "empty batch")
		_, err = be.Logits([][]int64{{2, 3}, {2}}, [][]int64{{1, 1}, {1}}, nil)
		assert.ErrorContains(t, err, "row 1")
		_, err = be.Logits([][]int64{{2, 3}}, [][]int64{{1, 1}, {1, 1}}, nil)
		assert.ErrorContains(t, err, "attention_mask")
		_, err = be.Logits([][]int64{{2, 500}}, [][]int64{{1, 1}}, nil) // id beyond vocab 128
		assert.Error(t, err)
		// nil token types mean zeros.
		ids, mask := c.Inputs.InputIDs.rows(t), c.Inputs.AttentionMask.rows(t)
		zeros := make([][]int64, len(ids))
		for i := range zeros {
			zeros[i] = make([]int64, len(ids[i]))
		}
		a, err := be.Logits(ids, mask, nil)
		require.NoError(t, err)
		b, err := be.Logits(ids, mask, zeros)
		require.NoError(t, err)
		assert.Equal(t, a.Data, b.Data)
	})
	t.Run("closed session", func(t *testing.T) {
		be, err := NewORT(dir, ORTOptions{IntraOpThreads: 1})
		require.NoError(t, err)
		require.NoError(t, be.Close())
		require.NoError(t, be.Close(), "Close is idempotent")
		_, err = be.Logits(c.Inputs.InputIDs.rows(t), c.Inputs.AttentionMask.rows(t), nil)
		assert.ErrorIs(t, err, ErrClosed)
	})
}

// TestORTCloseWhileRunning closes a session while goroutines are calling
// Logits: every call either succeeds or returns ErrClosed, nothing crashes.
func TestORTCloseWhileRunning(t *testing.T) {
	ortRequire(t)
	dir, c := ortExportFixture(t, "bert")
	be, err := NewORT(dir, ORTOptions{IntraOpThreads: 1})
	require.NoError(t, err)
	ids, mask := c.Inputs.InputIDs.rows(t), c.Inputs.AttentionMask.rows(t)
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok, closed := 0, 0
	var other []error
	start := make(chan struct{})
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for i := 0; i < 50; i++ {
				_, err := be.Logits(ids, mask, nil)
				mu.Lock()
				switch {
				case err == nil:
					ok++
				case errors.Is(err, ErrClosed):
					closed++
				default:
					other = append(other, err)
				}
				mu.Unlock()
			}
		}()
	}
	close(start)
	for {
		mu.Lock()
		n, done := ok, ok+closed+len(other)
		mu.Unlock()
		if n >= 10 || done == 200 {
			break
		}
		runtime.Gosched()
	}
	require.NoError(t, be.Close())
	wg.Wait()
	assert.Empty(t, other)
	assert.GreaterOrEqual(t, ok, 10)
	assert.Equal(t, 200, ok+closed)
	t.Logf("%d runs before Close, %d after", ok, closed)
}

// TestORTSharedArena: the environment registers one CPU arena and sessions
// on it interleave without disturbing each other: two models' sessions,
// alternated, give the logits each gives alone (HF parity is checked above).
func TestORTSharedArena(t *testing.T) {
	ortRequire(t)
	ortEnv.Lock()
	shared := ortEnv.sharedArena
	ortEnv.Unlock()
	require.True(t, shared, "InitORT registers the shared CPU arena")
	bertDir, bc := ortExportFixture(t, "bert")
	elDir, ec := ortExportFixture(t, "electra")
	run := func(be *ORTBackend, c *ortFixtureCase) []float32 {
		got, err := be.Logits(c.Inputs.InputIDs.rows(t), c.Inputs.AttentionMask.rows(t), c.Inputs.TokenTypeIDs.rows(t))
		require.NoError(t, err)
		return got.Data
	}
	b, err := NewORT(bertDir, ORTOptions{IntraOpThreads: 1})
	require.NoError(t, err)
	defer b.Close()
	e, err := NewORT(elDir, ORTOptions{IntraOpThreads: 1, NoSpin: true})
	require.NoError(t, err)
	defer e.Close()
	wantB, wantE := run(b, bc), run(e, ec)
	for i := 0; i < 3; i++ {
		assert.Equal(t, wantE, run(e, ec))
		assert.Equal(t, wantB, run(b, bc))
	}
}
