package dapt

import (
	"context"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/openmed/openmed/core/checkpoint"
	"github.com/openmed/openmed/core/model"
)

// denseCSR stores the m×n row-major matrix a as CSR (zeros dropped).
func denseCSR(a []float64, m, n int) *csrMatrix {
	c := &csrMatrix{rows: m, cols: n, ptr: make([]int, 1, m+1)}
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			if v := a[i*n+j]; v != 0 {
				c.idx = append(c.idx, int32(j))
				c.val = append(c.val, v)
			}
		}
		c.ptr = append(c.ptr, len(c.idx))
	}
	return c
}

// randomOrthonormal returns an n×k matrix with orthonormal columns.
func randomOrthonormal(r *rand.Rand, n, k int) []float64 {
	q := make([]float64, n*k)
	for i := range q {
		q[i] = r.NormFloat64()
	}
	for j := 0; j < k; j++ {
		for p := 0; p < j; p++ {
			d := 0.0
			for i := 0; i < n; i++ {
				d += q[i*k+j] * q[i*k+p]
			}
			for i := 0; i < n; i++ {
				q[i*k+j] -= d * q[i*k+p]
			}
		}
		nr := 0.0
		for i := 0; i < n; i++ {
			nr += q[i*k+j] * q[i*k+j]
		}
		for i := 0; i < n; i++ {
			q[i*k+j] /= math.Sqrt(nr)
		}
	}
	return q
}

// The randomized SVD of a 300×300 rank-20-plus-noise matrix recovers the
// top singular values and left subspace of the direct Jacobi SVD.
func TestRandomizedSVDMatchesJacobi(t *testing.T) {
	const n, rank = 300, 20
	r := rand.New(rand.NewPCG(1, 2))
	u0, v0 := randomOrthonormal(r, n, rank), randomOrthonormal(r, n, rank)
	a := make([]float64, n*n)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			v := 1e-3 * r.NormFloat64()
			for k := 0; k < rank; k++ {
				v += u0[i*rank+k] * (100 / float64(k+1)) * v0[j*rank+k]
			}
			a[i*n+j] = v
		}
	}
	ud, sd := jacobiSVD(a, n, n)
	// The direct SVD is itself correct: U·diag(s) has the column norms of a's
	// Gram and U's columns are orthonormal.
	for k := 0; k < rank; k++ {
		require.InDelta(t, 100/float64(k+1), sd[k], 0.05, "planted singular value %d", k)
	}
	require.Less(t, sd[rank], 0.05, "noise level")
	const k = rank
	u, s, err := randomizedSVD(denseCSR(a, n, n), k, 16, 3, 7)
	require.NoError(t, err)
	for i := 0; i < k; i++ {
		require.InDelta(t, sd[i], s[i], 1e-9*sd[0], "singular value %d", i)
	}
	// Each randomized left vector lies in the direct top-k subspace:
	// ‖U_d U_dᵀ u − u‖ ≈ 0, and ‖u‖ = 1.
	for j := 0; j < k; j++ {
		var res, nrm float64
		proj := make([]float64, k)
		for p := 0; p < k; p++ {
			for i := 0; i < n; i++ {
				proj[p] += ud[i*n+p] * u[i*k+j]
			}
		}
		for i := 0; i < n; i++ {
			x := u[i*k+j]
			nrm += x * x
			for p := 0; p < k; p++ {
				x -= ud[i*n+p] * proj[p]
			}
			res += x * x
		}
		require.InDelta(t, 1, nrm, 1e-10, "column %d norm", j)
		require.Less(t, math.Sqrt(res), 1e-7, "column %d outside the direct subspace", j)
	}
}

// orthonormalize returns Q with orthonormal columns and Q·R equal to the
// input, also for an ill-conditioned input that needs the shifted pass.
func TestOrthonormalizeIllConditioned(t *testing.T) {
	const n, l = 500, 12
	r := rand.New(rand.NewPCG(3, 4))
	y := make([]float64, n*l)
	for i := range y {
		y[i] = r.NormFloat64()
	}
	for i := 0; i < n; i++ { // column l-1 ≈ column 0 (condition ~1e10)
		y[i*l+l-1] = y[i*l] + 1e-10*y[i*l+l-1]
	}
	orig := append([]float64(nil), y...)
	rr, err := orthonormalize(y, n, l)
	require.NoError(t, err)
	for p := 0; p < l; p++ {
		for q := 0; q < l; q++ {
			d := 0.0
			for i := 0; i < n; i++ {
				d += y[i*l+p] * y[i*l+q]
			}
			want := 0.0
			if p == q {
				want = 1
			}
			require.InDelta(t, want, d, 1e-12, "QᵀQ[%d,%d]", p, q)
		}
	}
	for i := 0; i < n; i++ {
		for j := 0; j < l; j++ {
			v := 0.0
			for p := 0; p <= j; p++ {
				v += y[i*l+p] * rr[p*l+j]
			}
			require.InDelta(t, orig[i*l+j], v, 1e-9, "QR[%d,%d]", i, j)
		}
	}
}

// twoClusterCorpus has lines drawn from tokens [lo, lo+k) of one of two
// disjoint clusters.
func twoClusterCorpus(seed uint64, lines, k int) [][]int32 {
	r := rand.New(rand.NewPCG(seed, 9))
	var segs [][]int32
	for i := 0; i < lines; i++ {
		lo := 10 + (i%2)*k
		s := make([]int32, 30)
		for j := range s {
			s[j] = int32(lo + r.IntN(k))
		}
		segs = append(segs, s)
	}
	return segs
}

// Tokens that share contexts get similar vectors: within-cluster cosine is
// high, across-cluster cosine near zero; the seen rows have std 0.02 and
// unseen rows are flagged.
func TestPPMIEmbeddingClusters(t *testing.T) {
	const k, vocab = 12, 40
	e, err := BuildPPMIEmbedding(twoClusterCorpus(1, 400, k), vocab, DefaultPPMIOptions(8, 5))
	require.NoError(t, err)
	var within, across float64
	var nw, na int
	for i := 10; i < 10+2*k; i++ {
		require.True(t, e.Seen[i])
		for j := i + 1; j < 10+2*k; j++ {
			if (i-10)/k == (j-10)/k {
				within += e.cosine(i, j)
				nw++
			} else {
				across += math.Abs(e.cosine(i, j))
				na++
			}
		}
	}
	within /= float64(nw)
	across /= float64(na)
	t.Logf("mean cosine within %.3f, |across| %.3f", within, across)
	require.Greater(t, within, 0.3)
	require.Less(t, across, 0.1)
	require.Greater(t, within, across+0.3)
	for i := 0; i < 10; i++ {
		require.False(t, e.Seen[i], "token %d never occurs", i)
		require.Equal(t, make([]float32, e.Rank), e.Vectors[i*e.Rank:(i+1)*e.Rank])
	}
	var sum, sq float64
	n := 0
	for i, ok := range e.Seen {
		if ok {
			for _, v := range e.Vectors[i*e.Rank : (i+1)*e.Rank] {
				sum += float64(v)
				sq += float64(v) * float64(v)
				n++
			}
		}
	}
	std := math.Sqrt(sq/float64(n) - (sum/float64(n))*(sum/float64(n)))
	require.InDelta(t, 0.02, std, 1e-5)
}

// The same seed gives bit-identical embeddings.
func TestPPMIEmbeddingDeterministic(t *testing.T) {
	segs := twoClusterCorpus(2, 300, 15)
	a, err := BuildPPMIEmbedding(segs, 50, DefaultPPMIOptions(10, 3))
	require.NoError(t, err)
	b, err := BuildPPMIEmbedding(segs, 50, DefaultPPMIOptions(10, 3))
	require.NoError(t, err)
	require.Equal(t, a.Vectors, b.Vectors)
	require.Equal(t, a.Singular, b.Singular)
}

// Co-occurrence counts are 1/distance weighted, symmetric and never cross a
// segment.
func TestCooccurrenceCounts(t *testing.T) {
	c := cooccurrence([][]int32{{0, 1, 2}, {2, 0}}, 3, 4)
	dense := make([]float64, 9)
	for r := 0; r < 3; r++ {
		for p := c.ptr[r]; p < c.ptr[r+1]; p++ {
			dense[r*3+int(c.idx[p])] = c.val[p]
		}
	}
	// Pairs: (0,1) d1, (1,2) d1, (0,2) d2, and (2,0) d1 in the second line.
	require.Equal(t, []float64{0, 1, 1.5, 1, 0, 1, 1.5, 1, 0}, dense)
}

// Windows stop at line starts and block edges; held-out blocks are never
// read, so changing them leaves the embedding unchanged.
func TestTrainSegmentsSkipHeldOut(t *testing.T) {
	// blockLen 6: 4 content tokens per block. Stream: lines of 3, 5, 4 tokens.
	blocks := [][]int32{{101, 1, 2, 3, 4, 102}, {101, 5, 6, 7, 8, 102}, {101, 9, 10, 11, 12, 102}}
	segs := trainSegments(blocks, []int{0, 2}, 6, []int{0, 3, 8})
	require.Equal(t, [][]int32{{1, 2, 3}, {4}, {9, 10, 11, 12}}, segs)

	train := twoClusterCorpus(4, 200, 10)
	var bl [][]int32
	for _, s := range train {
		bl = append(bl, append(append([]int32{1}, s...), 2))
	}
	held := [][]int32{{1, 10, 40, 10, 40, 10, 40, 2}, {1, 41, 42, 43, 41, 42, 43, 2}}
	idx := make([]int, len(train))
	for i := range idx {
		idx[i] = i
	}
	build := func(h [][]int32) *PPMIEmbedding {
		all := append(append([][]int32(nil), bl...), h...)
		e, err := BuildPPMIEmbedding(trainSegments(all, idx, 32, nil), 50, DefaultPPMIOptions(8, 1))
		require.NoError(t, err)
		return e
	}
	a := build(held)
	b := build([][]int32{{1, 30, 31, 30, 2}, {1, 44, 45, 2}})
	require.Equal(t, a.Vectors, b.Vectors)
	require.False(t, a.Seen[40], "a held-out-only token is unseen")
}

// Bad options and ids are refused with an error.
func TestPPMIEmbeddingErrors(t *testing.T) {
	_, err := BuildPPMIEmbedding([][]int32{{1, 2, 60}}, 50, DefaultPPMIOptions(4, 1))
	require.ErrorContains(t, err, "outside the vocabulary")
	_, err = BuildPPMIEmbedding([][]int32{{1, 2, 3}}, 50, DefaultPPMIOptions(51, 1))
	require.ErrorContains(t, err, "rank")
	require.False(t, EmbeddingInit("glove").Valid())
	c := DefaultConfig()
	c.Text, c.Out, c.FromScratch, c.Tokenizer = []string{"x"}, "o", true, "t"
	c.Scratch = &Scratch{Layers: 1, Hidden: 32, Heads: 2, FFN: 64, EmbeddingInit: "glove"}
	require.ErrorContains(t, c.validate(), `scratch.embedding_init "glove" is unknown`)
}

// A from-scratch run with ppmi-svd writes word_embeddings that differ from
// the normal init, with seen rows at std ≈ 0.02, unseen rows untouched and
// the padding row zero.
func TestFromScratchPPMISVD(t *testing.T) {
	_, tokDir := pubmed(t)
	text := ncbiText(t, 300)
	run := func(init EmbeddingInit) (*Result, Config) {
		cfg := scratchConfig(t, text, tokDir, Scratch{Layers: 1, Hidden: 32, Heads: 2, FFN: 64, MaxPositions: 128, EmbeddingInit: init})
		cfg.BlockLen = 128
		cfg.LR = 1e-12 // weights stay at their init
		cfg.HeldOut = 0.1
		res, err := Run(context.Background(), cfg)
		require.NoError(t, err)
		return res, cfg
	}
	normal, _ := run(EmbeddingNormal)
	ppmi, cfg := run(EmbeddingPPMISVD)
	require.FileExists(t, filepath.Join(cfg.Out, "embedding_init.json"))
	c, err := checkpoint.LoadConfig(cfg.Out)
	require.NoError(t, err)
	m, err := model.New(c, model.MaskedLM, 0)
	require.NoError(t, err)
	sd, err := checkpoint.LoadWeights(cfg.Out)
	require.NoError(t, err)
	_, _, err = m.LoadStateDict(sd)
	require.NoError(t, err)
	got := m.Encoder.Embeddings.Word.Value.Data
	ref := normal.Model.Encoder.Embeddings.Word.Value.Data
	const h = 32
	pad := c.PadTokenID
	for _, v := range got[pad*h : (pad+1)*h] { // zero at init; lr 1e-12 moves it by ~1e-12 through the tied decoder
		require.Less(t, math.Abs(float64(v)), 1e-9, "padding row")
	}
	// Seen rows: those the PPMI init changed.
	var sum, sq float64
	changed, same := 0, 0
	for r := 0; r < len(got)/h; r++ {
		if r == pad {
			continue
		}
		diff := false
		for j := 0; j < h; j++ {
			if math.Abs(float64(got[r*h+j]-ref[r*h+j])) > 1e-6 {
				diff = true
			}
		}
		if !diff {
			same++
			continue
		}
		changed++
		for _, v := range got[r*h : (r+1)*h] {
			sum += float64(v)
			sq += float64(v) * float64(v)
		}
	}
	n := float64(changed * h)
	std := math.Sqrt(sq/n - (sum/n)*(sum/n))
	t.Logf("%d rows from PPMI-SVD (std %.5f), %d keep the normal init; held-out loss %.3f (normal %.3f)",
		changed, std, same, ppmi.Before.Loss, normal.Before.Loss)
	require.Greater(t, changed, 500)
	require.Greater(t, same, 10000, "unseen tokens keep HF's init")
	require.InDelta(t, 0.02, std, 2e-4)
	b, err := os.ReadFile(filepath.Join(cfg.Out, "training_args.json"))
	require.NoError(t, err)
	require.True(t, strings.Contains(string(b), `"embedding_init": "ppmi-svd"`), string(b))
}
