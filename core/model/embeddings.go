package model

import (
	"fmt"

	"github.com/openmed/openmed/core/tensor"
)

// Batch is one padded batch of token sequences, flattened row-major
// [Batch×SeqLen], as HF's input_ids / token_type_ids / attention_mask.
type Batch struct {
	Batch, SeqLen int
	// InputIDs are vocabulary ids.
	InputIDs []int32
	// TokenTypeIDs are segment ids; nil means all zero (HF default).
	TokenTypeIDs []int32
	// AttentionMask is 1 for real tokens and 0 for padding; nil means all 1.
	AttentionMask []float32
}

// Tokens is Batch×SeqLen.
func (b *Batch) Tokens() int { return b.Batch * b.SeqLen }

// Validate checks the slice lengths against Batch×SeqLen.
func (b *Batch) Validate() error {
	n := b.Tokens()
	if b.Batch <= 0 || b.SeqLen <= 0 {
		return fmt.Errorf("model: batch shape %dx%d must be positive", b.Batch, b.SeqLen)
	}
	if len(b.InputIDs) != n {
		return fmt.Errorf("model: input_ids has %d values, want %d (%dx%d)", len(b.InputIDs), n, b.Batch, b.SeqLen)
	}
	if b.TokenTypeIDs != nil && len(b.TokenTypeIDs) != n {
		return fmt.Errorf("model: token_type_ids has %d values, want %d", len(b.TokenTypeIDs), n)
	}
	if b.AttentionMask != nil && len(b.AttentionMask) != n {
		return fmt.Errorf("model: attention_mask has %d values, want %d", len(b.AttentionMask), n)
	}
	return nil
}

// Embeddings is BertEmbeddings / ElectraEmbeddings: LN(word[ids] +
// position[0..L−1] + token_type[tt]) then dropout, followed for ELECTRA by
// embeddings_project (Linear embedding_size→hidden_size) when the widths differ.
type Embeddings struct {
	Word, Position, TokenType *tensor.Param
	LN                        *LayerNorm
	Dropout                   Dropout
	// Project is ELECTRA's embeddings_project (nil for BERT).
	Project Projection
	// PadID is padding_idx: its embedding row gets no gradient (torch).
	PadID int32
	// MaskOutput multiplies the LayerNorm output by attention_mask
	// (DebertaV2Embeddings); Position is nil when position_biased_input is false.
	MaskOutput bool

	dim       int
	sum, norm []float32 // caches: pre-LN sum, LN(+dropout) output
	out       []float32 // Project output
	dnorm     []float32
	ids, tts  []int32
	mask      []float32 // attention_mask when MaskOutput
	n, L      int
}

func newEmbeddings(prefix string, vocab, maxPos, typeVocab, dim int, eps float32, pad int32) *Embeddings {
	e := &Embeddings{
		Word:     newParam(prefix+".word_embeddings.weight", false, vocab, dim),
		Position: newParam(prefix+".position_embeddings.weight", false, maxPos, dim),
		LN:       NewLayerNorm(prefix+".LayerNorm", dim, eps),
		PadID:    pad,
		dim:      dim,
	}
	if typeVocab > 0 {
		e.TokenType = newParam(prefix+".token_type_embeddings.weight", false, typeVocab, dim)
	}
	return e
}

// Params lists the embedding tables, LayerNorm and projection.
func (e *Embeddings) Params() []*tensor.Param {
	ps := []*tensor.Param{e.Word}
	if e.Position != nil {
		ps = append(ps, e.Position)
	}
	if e.TokenType != nil {
		ps = append(ps, e.TokenType)
	}
	ps = append(ps, e.LN.Params()...)
	if e.Project != nil {
		ps = append(ps, e.Project.Params()...)
	}
	return ps
}

// Forward returns the encoder input [tokens, hidden] (a buffer owned by e).
func (e *Embeddings) Forward(b *Batch, train bool, rng *uint64) ([]float32, error) {
	n, d := b.Tokens(), e.dim
	if e.Position != nil && b.SeqLen > e.Position.Value.Shape[0] {
		maxPos := e.Position.Value.Shape[0]
		return nil, fmt.Errorf("model: sequence length %d exceeds max_position_embeddings %d", b.SeqLen, maxPos)
	}
	e.n, e.L = n, b.SeqLen
	e.ids = b.InputIDs
	e.tts = b.TokenTypeIDs
	e.sum = grow(e.sum, n*d)
	e.norm = grow(e.norm, n*d)
	if err := tensor.Gather(e.sum, e.Word.Value.Data, b.InputIDs, d); err != nil {
		return nil, fmt.Errorf("input_ids: %w", err)
	}
	if b.TokenTypeIDs != nil && e.TokenType == nil {
		// DebertaV2Embeddings ignores token_type_ids when type_vocab_size is
		// 0; a non-zero id would silently lose information, so it is an error.
		for i, t := range b.TokenTypeIDs {
			if t != 0 {
				return nil, fmt.Errorf("model: token_type_ids[%d] = %d but the model has no token type embeddings (type_vocab_size 0)", i, t)
			}
		}
	}
	if e.TokenType != nil {
		tv := int32(e.TokenType.Value.Shape[0])
		for i, t := range b.TokenTypeIDs {
			if t < 0 || t >= tv {
				return nil, fmt.Errorf("model: token_type_ids[%d] = %d outside [0,%d)", i, t, tv)
			}
		}
	}
	var pos, typ []float32
	if e.Position != nil {
		pos = e.Position.Value.Data
	}
	if e.TokenType != nil {
		typ = e.TokenType.Value.Data
	}
	L := b.SeqLen
	tensor.Parallel(n, 64, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			row := e.sum[i*d : (i+1)*d]
			if pos != nil {
				p := pos[(i%L)*d : (i%L+1)*d]
				for j := range row {
					row[j] += p[j]
				}
			}
			if typ != nil {
				t := 0
				if b.TokenTypeIDs != nil {
					t = int(b.TokenTypeIDs[i])
				}
				tr := typ[t*d : (t+1)*d]
				for j := range row {
					row[j] += tr[j]
				}
			}
		}
	})
	e.LN.Forward(e.norm, e.sum, n)
	e.mask = nil
	if e.MaskOutput && b.AttentionMask != nil {
		e.mask = b.AttentionMask
		maskRows(e.norm, e.mask, d)
	}
	e.Dropout.Forward(e.norm, e.norm, train, rng)
	if e.Project == nil {
		return e.norm, nil
	}
	h := e.Project.OutFeatures()
	e.out = grow(e.out, n*h)
	e.Project.Forward(e.out, e.norm, n)
	return e.out, nil
}

// HasTrainable reports whether any embedding parameter receives gradients.
func (e *Embeddings) HasTrainable() bool { return anyTrainable(e.Params()) }

// Backward accumulates the gradients of the embedding parameters from dout
// (dL/d output, [tokens, hidden]); dout may be overwritten.
func (e *Embeddings) Backward(dout []float32) {
	n, d := e.n, e.dim
	dn := dout
	if e.Project != nil {
		tablesTrainable := anyTrainable(e.LN.Params()) || e.Word.Grad != nil || (e.Position != nil && e.Position.Grad != nil) || (e.TokenType != nil && e.TokenType.Grad != nil)
		e.dnorm = grow(e.dnorm, n*d)
		var dx []float32
		if tablesTrainable {
			dx = e.dnorm
		}
		e.Project.Backward(dx, e.norm, dout, n, false)
		if !tablesTrainable {
			return
		}
		dn = e.dnorm
	}
	e.Dropout.Backward(dn, dn)
	if e.mask != nil {
		maskRows(dn, e.mask, d)
	}
	needSum := e.Word.Grad != nil || (e.Position != nil && e.Position.Grad != nil) || (e.TokenType != nil && e.TokenType.Grad != nil)
	var dsum []float32
	if needSum {
		dsum = dn
	}
	e.LN.Backward(dsum, e.sum, dn, n)
	if !needSum {
		return
	}
	if e.Word.Grad != nil {
		tensor.ScatterAdd(e.Word.Grad.Data, dsum, e.ids, d, e.PadID)
	}
	L := e.L
	if e.Position != nil && e.Position.Grad != nil {
		for i := 0; i < n; i++ {
			p := e.Position.Grad.Data[(i%L)*d : (i%L+1)*d]
			for j, v := range dsum[i*d : (i+1)*d] {
				p[j] += v
			}
		}
	}
	if e.TokenType != nil && e.TokenType.Grad != nil {
		for i := 0; i < n; i++ {
			t := 0
			if e.tts != nil {
				t = int(e.tts[i])
			}
			g := e.TokenType.Grad.Data[t*d : (t+1)*d]
			for j, v := range dsum[i*d : (i+1)*d] {
				g[j] += v
			}
		}
	}
}

// maskRows multiplies each width-d row of x by its mask value.
func maskRows(x, mask []float32, d int) {
	for i, m := range mask {
		if m != 1 {
			row := x[i*d : (i+1)*d]
			for j := range row {
				row[j] *= m
			}
		}
	}
}
