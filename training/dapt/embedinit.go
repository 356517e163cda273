package dapt

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"time"

	"github.com/openmed/openmed/core/model"
	"github.com/openmed/openmed/core/tensor"
	"github.com/openmed/openmed/core/tokenize"
	"github.com/openmed/openmed/training"
)

// EmbeddingInit is the initial value of a from-scratch encoder's
// word_embeddings table (tied to the MLM decoder, so it also starts the
// output softmax). The table stays a plain learned parameter (HF-loadable).
type EmbeddingInit string

const (
	// EmbeddingNormal is HF's init, normal(0, initializer_range), with the
	// padding row zero.
	EmbeddingNormal EmbeddingInit = "normal"
	// EmbeddingPPMISVD starts from a count-based distributional embedding
	// of the training blocks: positive PMI with context-distribution
	// smoothing 0.75 over a ±4-token window weighted 1/distance, factorised
	// by truncated SVD with eigenvalue weighting p = 0.5 (Levy, Goldberg &
	// Dagan 2015, TACL "Improving distributional similarity with lessons
	// learned from word embeddings", §3), rescaled to the initializer range.
	// See PPMIOptions.
	EmbeddingPPMISVD EmbeddingInit = "ppmi-svd"
)

// Valid reports whether e is a known EmbeddingInit ("" means normal).
func (e EmbeddingInit) Valid() bool {
	return e == "" || e == EmbeddingNormal || e == EmbeddingPPMISVD
}

// PPMIOptions configures the PPMI + truncated-SVD embedding (Levy, Goldberg
// & Dagan 2015). Zero fields take DefaultPPMIOptions' values.
type PPMIOptions struct {
	// Window is the context window on each side (4); a pair d tokens apart
	// counts 1/d (their "dynamic context window", deterministic form).
	// Windows stay within one line of text and one training block.
	Window int
	// Smoothing is the context-distribution exponent α (0.75): PMI uses
	// P_α(c) = #(c)^α / Σ #(c')^α.
	Smoothing float64
	// Rank is the embedding width (the model's hidden size).
	Rank int
	// Oversample (16) and PowerIters (4) are the randomized SVD's extra
	// random vectors and subspace iterations (Halko et al. 2011, §4.3-4.5).
	Oversample, PowerIters int
	// Std is the target standard deviation of the seen rows (0.02, BERT's
	// initializer_range).
	Std float64
	// Seed fixes the SVD's random test matrix.
	Seed uint64
}

// DefaultPPMIOptions returns window 4, smoothing 0.75, oversampling 16, 4
// power iterations and std 0.02 for a rank-rank embedding.
func DefaultPPMIOptions(rank int, seed uint64) PPMIOptions {
	return PPMIOptions{Window: 4, Smoothing: 0.75, Rank: rank, Oversample: 16, PowerIters: 4, Std: 0.02, Seed: seed}
}

// PPMIEmbedding is a PPMI + SVD embedding table.
type PPMIEmbedding struct {
	// Vectors is vocab×Rank, row-major; rows of tokens without a positive
	// PMI entry are zero (Seen false).
	Vectors []float32
	Rank    int
	Seen    []bool
	// NNZ is the number of positive PMI entries; Singular the top singular
	// values of the PPMI matrix (descending).
	NNZ      int
	Singular []float64
	// CountSeconds and SVDSeconds time the co-occurrence/PPMI and SVD steps.
	CountSeconds, SVDSeconds float64
}

// BuildPPMIEmbedding counts co-occurrences within each segment of token ids
// (a segment never spans a line or block boundary), forms the positive PMI
// matrix with context-distribution smoothing, takes its rank-Rank truncated
// SVD U·S·Vᵀ by randomized SVD and returns U·S^½ (eigenvalue weighting
// p = 0.5) scaled so the seen rows have standard deviation Std. ids must lie
// in [0, vocab).
func BuildPPMIEmbedding(segments [][]int32, vocab int, o PPMIOptions) (*PPMIEmbedding, error) {
	d := DefaultPPMIOptions(o.Rank, o.Seed)
	if o.Window <= 0 {
		o.Window = d.Window
	}
	if o.Smoothing <= 0 {
		o.Smoothing = d.Smoothing
	}
	if o.Oversample <= 0 {
		o.Oversample = d.Oversample
	}
	if o.PowerIters <= 0 {
		o.PowerIters = d.PowerIters
	}
	if o.Std <= 0 {
		o.Std = d.Std
	}
	if o.Rank <= 0 || o.Rank > vocab {
		return nil, fmt.Errorf("dapt: embedding rank %d outside [1, vocab size %d]", o.Rank, vocab)
	}
	if o.Window > 255 {
		return nil, fmt.Errorf("dapt: co-occurrence window %d > 255", o.Window)
	}
	for si, s := range segments {
		for _, id := range s {
			if id < 0 || int(id) >= vocab {
				return nil, fmt.Errorf("dapt: segment %d holds token id %d outside the vocabulary of %d", si, id, vocab)
			}
		}
	}
	t0 := time.Now()
	counts := cooccurrence(segments, vocab, o.Window)
	p := positivePMI(counts, o.Smoothing)
	if p.nnz() == 0 {
		return nil, fmt.Errorf("dapt: no positive PMI entry (text too short for a %d-token window?)", o.Window)
	}
	t1 := time.Now()
	u, s, err := randomizedSVD(p, o.Rank, o.Oversample, o.PowerIters, o.Seed)
	if err != nil {
		return nil, err
	}
	e := &PPMIEmbedding{Vectors: make([]float32, vocab*o.Rank), Rank: o.Rank, Seen: make([]bool, vocab), NNZ: p.nnz(), Singular: s,
		CountSeconds: t1.Sub(t0).Seconds(), SVDSeconds: time.Since(t1).Seconds()}
	w := make([]float64, o.Rank)
	for j, sv := range s {
		w[j] = math.Sqrt(sv)
	}
	var sum, sq float64
	n := 0
	for r := 0; r < vocab; r++ {
		if p.ptr[r+1] == p.ptr[r] {
			continue
		}
		e.Seen[r] = true
		for j := 0; j < o.Rank; j++ {
			v := u[r*o.Rank+j] * w[j]
			u[r*o.Rank+j] = v
			sum += v
			sq += v * v
		}
		n += o.Rank
	}
	mean := sum / float64(n)
	std := math.Sqrt(max(sq/float64(n)-mean*mean, 0))
	if std == 0 {
		return nil, fmt.Errorf("dapt: the PPMI embedding is identically zero")
	}
	scale := o.Std / std
	for r := 0; r < vocab; r++ {
		if e.Seen[r] {
			for j := 0; j < o.Rank; j++ {
				e.Vectors[r*o.Rank+j] = float32(u[r*o.Rank+j] * scale)
			}
		}
	}
	return e, nil
}

// cooccurrence returns the symmetric vocab×vocab matrix of 1/distance
// weighted co-occurrence counts within window tokens, pairs never crossing a
// segment. Entries of a row are summed in corpus order, so the result does
// not depend on the number of threads.
func cooccurrence(segments [][]int32, vocab, window int) *csrMatrix {
	start := make([]int, vocab+1)
	for _, s := range segments {
		for i := range s {
			for d := 1; d <= window && i+d < len(s); d++ {
				start[s[i]+1]++
				start[s[i+d]+1]++
			}
		}
	}
	for i := 0; i < vocab; i++ {
		start[i+1] += start[i]
	}
	cols := make([]int32, start[vocab])
	dist := make([]uint8, start[vocab])
	next := slices.Clone(start[:vocab])
	for _, s := range segments {
		for i, a := range s {
			for d := 1; d <= window && i+d < len(s); d++ {
				b := s[i+d]
				cols[next[a]], dist[next[a]] = b, uint8(d)
				next[a]++
				cols[next[b]], dist[next[b]] = a, uint8(d)
				next[b]++
			}
		}
	}
	// Aggregate each row's pairs (a dense accumulator per worker).
	threads := max(tensor.Threads(), 1)
	type part struct {
		lens []int
		idx  []int32
		val  []float64
	}
	parts := make([]part, threads)
	chunk := (vocab + threads - 1) / threads
	tensor.ParallelChunks(threads, func(_, clo, chi int) {
		for c := clo; c < chi; c++ {
			lo, hi := c*chunk, min((c+1)*chunk, vocab)
			acc := make([]float64, vocab)
			var touched []int32
			pt := part{lens: make([]int, 0, max(hi-lo, 0))}
			for r := lo; r < hi; r++ {
				touched = touched[:0]
				for p := start[r]; p < start[r+1]; p++ {
					col := cols[p]
					if acc[col] == 0 {
						touched = append(touched, col)
					}
					acc[col] += 1 / float64(dist[p])
				}
				slices.Sort(touched)
				for _, col := range touched {
					pt.idx = append(pt.idx, col)
					pt.val = append(pt.val, acc[col])
					acc[col] = 0
				}
				pt.lens = append(pt.lens, len(touched))
			}
			parts[c] = pt
		}
	})
	m := &csrMatrix{rows: vocab, cols: vocab, ptr: make([]int, 1, vocab+1)}
	for _, pt := range parts {
		for _, n := range pt.lens {
			m.ptr = append(m.ptr, m.ptr[len(m.ptr)-1]+n)
		}
		m.idx = append(m.idx, pt.idx...)
		m.val = append(m.val, pt.val...)
	}
	return m
}

// positivePMI turns counts into PPMI: max(0, log(#(w,c)·Σ_c' #(c')^α /
// (#(w)·#(c)^α))), the row marginal #(w) unsmoothed and the context
// marginal raised to α (Levy et al. 2015, §3.1 "context distribution
// smoothing"). Only positive entries are stored.
func positivePMI(c *csrMatrix, alpha float64) *csrMatrix {
	rs := make([]float64, c.rows)
	cs := make([]float64, c.cols)
	for r := 0; r < c.rows; r++ {
		for p := c.ptr[r]; p < c.ptr[r+1]; p++ {
			rs[r] += c.val[p]
			cs[c.idx[p]] += c.val[p]
		}
	}
	den := 0.0
	for i, v := range cs {
		cs[i] = math.Pow(v, alpha)
		den += cs[i]
	}
	out := &csrMatrix{rows: c.rows, cols: c.cols, ptr: make([]int, 1, c.rows+1)}
	for r := 0; r < c.rows; r++ {
		for p := c.ptr[r]; p < c.ptr[r+1]; p++ {
			if v := math.Log(c.val[p] * den / (rs[r] * cs[c.idx[p]])); v > 0 {
				out.idx = append(out.idx, c.idx[p])
				out.val = append(out.val, v)
			}
		}
		out.ptr = append(out.ptr, len(out.idx))
	}
	return out
}

// trainSegments cuts the content of the training blocks (blocks[k] for k in
// train: [CLS] content [SEP], content being stream[k·(blockLen−2) …] of the
// packed token stream, see Pack) at line starts (offsets into that stream,
// sorted), so co-occurrence windows stay within one line and one block.
// Held-out blocks are never read.
func trainSegments(blocks [][]int32, train []int, blockLen int, lineStarts []int) [][]int32 {
	content := blockLen - 2
	var segs [][]int32
	for _, k := range train {
		b := blocks[k]
		if len(b) <= 2 {
			continue
		}
		body := b[1 : len(b)-1]
		lo := k * content
		cut := 0
		for i := sort.SearchInts(lineStarts, lo+1); i < len(lineStarts) && lineStarts[i] < lo+len(body); i++ {
			if at := lineStarts[i] - lo; at > cut {
				segs = append(segs, body[cut:at])
				cut = at
			}
		}
		if cut < len(body) {
			segs = append(segs, body[cut:])
		}
	}
	return segs
}

// EmbeddingInitReport describes a ppmi-svd warm start (written to
// embedding_init.json in the output folder).
type EmbeddingInitReport struct {
	Method   EmbeddingInit `json:"method"`
	Options  PPMIOptions   `json:"options"`
	Segments int           `json:"segments"`
	Tokens   int           `json:"tokens"`
	NNZ      int           `json:"ppmi_nnz"`
	Seen     int           `json:"seen_rows"`
	// Singular lists the top singular values of the PPMI matrix.
	Singular []float64 `json:"top_singular_values"`
	// Seconds is the wall time of the whole init (line lengths, counts,
	// PPMI, SVD, copy); EncodeSeconds, CountSeconds and SVDSeconds its
	// re-tokenisation (for line boundaries), co-occurrence/PPMI and SVD parts.
	Seconds       float64 `json:"seconds"`
	EncodeSeconds float64 `json:"encode_seconds"`
	CountSeconds  float64 `json:"count_seconds"`
	SVDSeconds    float64 `json:"svd_seconds"`
	// Neighbours lists, for a few probe words in the vocabulary, their
	// nearest seen tokens by cosine.
	Neighbours map[string][]string `json:"neighbours,omitempty"`
}

// probeWords are looked up in embedding_init.json's neighbour lists.
var probeWords = []string{"cancer", "cisplatin", "gene", "mice", "protein", "deficiency"}

// initPPMIEmbeddings overwrites m's word_embeddings rows of the tokens seen
// in the training blocks with the PPMI-SVD embedding (other rows, and the
// padding row, keep HF's init) and writes embedding_init.json to out.
func initPPMIEmbeddings(m *model.Model, tok *tokenize.Tokenizer, lines []string, blocks [][]int32, train []int, blockLen int, seed uint64, out string) (*EmbeddingInitReport, error) {
	t0 := time.Now()
	encs, err := tok.EncodeBatch(lines, tokenize.WithEncodeOptions(tokenize.WithoutSpecialTokens()), tokenize.WithWorkers(max(tensor.Threads(), 1)))
	if err != nil {
		return nil, err
	}
	lineStarts := make([]int, 0, len(encs))
	pos := 0
	for _, e := range encs {
		lineStarts = append(lineStarts, pos)
		pos += len(e.IDs)
	}
	if want := packedContent(blocks); pos != want {
		return nil, fmt.Errorf("dapt: ppmi-svd: lines hold %d tokens but the blocks %d", pos, want)
	}
	tEnc := time.Since(t0).Seconds()
	segs := trainSegments(blocks, train, blockLen, lineStarts)
	word := m.Encoder.Embeddings.Word.Value
	vocab, hidden := word.Shape[0], word.Shape[1]
	o := DefaultPPMIOptions(hidden, seed)
	e, err := BuildPPMIEmbedding(segs, vocab, o)
	if err != nil {
		return nil, err
	}
	pad := m.Config.PadTokenID
	rep := &EmbeddingInitReport{Method: EmbeddingPPMISVD, Options: o, Segments: len(segs), NNZ: e.NNZ, Singular: e.Singular[:min(8, len(e.Singular))],
		EncodeSeconds: tEnc, CountSeconds: e.CountSeconds, SVDSeconds: e.SVDSeconds}
	for _, s := range segs {
		rep.Tokens += len(s)
	}
	for r := 0; r < vocab; r++ {
		if e.Seen[r] && r != pad {
			copy(word.Data[r*hidden:(r+1)*hidden], e.Vectors[r*hidden:(r+1)*hidden])
			rep.Seen++
		}
	}
	rep.Seconds = time.Since(t0).Seconds()
	rep.Neighbours = map[string][]string{}
	for _, w := range probeWords {
		if id, ok := tok.TokenToID(w); ok && int(id) < vocab && e.Seen[id] {
			var names []string
			for _, j := range e.nearest(int(id), 8) {
				s, _ := tok.IDToToken(int32(j))
				names = append(names, s)
			}
			rep.Neighbours[w] = names
		}
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, err
	}
	if err := training.WriteJSON(filepath.Join(out, "embedding_init.json"), rep); err != nil {
		return nil, err
	}
	return rep, nil
}

// packedContent counts the content tokens of Pack's blocks ([CLS] and
// [SEP] excluded).
func packedContent(blocks [][]int32) int {
	n := 0
	for _, b := range blocks {
		n += max(len(b)-2, 0)
	}
	return n
}

// cosine is the cosine similarity of rows i and j (0 for a zero row).
func (e *PPMIEmbedding) cosine(i, j int) float64 {
	a := e.Vectors[i*e.Rank : (i+1)*e.Rank]
	b := e.Vectors[j*e.Rank : (j+1)*e.Rank]
	var ab, aa, bb float64
	for k := range a {
		ab += float64(a[k]) * float64(b[k])
		aa += float64(a[k]) * float64(a[k])
		bb += float64(b[k]) * float64(b[k])
	}
	if aa == 0 || bb == 0 {
		return 0
	}
	return ab / math.Sqrt(aa*bb)
}

// nearest returns the n seen rows most cosine-similar to row i (i excluded).
func (e *PPMIEmbedding) nearest(i, n int) []int {
	type cand struct {
		j int
		c float64
	}
	var cs []cand
	for j, ok := range e.Seen {
		if ok && j != i {
			cs = append(cs, cand{j, e.cosine(i, j)})
		}
	}
	sort.SliceStable(cs, func(a, b int) bool { return cs[a].c > cs[b].c })
	out := make([]int, 0, n)
	for _, c := range cs[:min(n, len(cs))] {
		out = append(out, c.j)
	}
	return out
}
