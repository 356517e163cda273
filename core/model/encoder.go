package model

import "github.com/openmed/openmed/core/tensor"

// Encoder is BertModel / ElectraModel without pooler: embeddings followed by
// NumHiddenLayers post-LN Transformer layers.
type Encoder struct {
	Embeddings *Embeddings
	Layers     []*EncoderLayer
	// Rel is DeBERTa-v2/v3's relative-position state (rel_embeddings and the
	// encoder LayerNorm), nil for BERT/ELECTRA.
	Rel *RelEmbeddings

	input []float32 // embeddings output (encoder input)
	// shareScratch: see Model.SetShareScratch.
	shareScratch bool
	ws           workspace
	dbuf         [2][]float32
	hidden       int
	n            int
}

// Params lists embeddings then layers, in HF state_dict order.
func (e *Encoder) Params() []*tensor.Param {
	ps := e.Embeddings.Params()
	for _, l := range e.Layers {
		ps = append(ps, l.Params()...)
	}
	if e.Rel != nil {
		ps = append(ps, e.Rel.Params()...)
	}
	return ps
}

// Forward returns the last hidden state [tokens, hidden] (owned by the last layer).
func (e *Encoder) Forward(b *Batch, train bool, rng *uint64) ([]float32, error) {
	h, err := e.Embeddings.Forward(b, train, rng)
	if err != nil {
		return nil, err
	}
	e.input = h
	e.n = b.Tokens()
	if e.Rel != nil {
		e.Rel.Forward()
	}
	for i, l := range e.Layers {
		h = l.Forward(h, b, train, rng)
		if e.shareScratch && !train && len(e.Layers) > 1 {
			// Layer i's buffers are dead once its output exists: the next
			// layer (the first, after the last) reuses them.
			l.lendScratch(e.Layers[(i+1)%len(e.Layers)])
		}
	}
	return h, nil
}

// HiddenStates returns HF's hidden_states of the last Forward: the encoder
// input (after ELECTRA's embeddings_project) followed by each layer's output.
func (e *Encoder) HiddenStates() [][]float32 {
	hs := [][]float32{e.input}
	for _, l := range e.Layers {
		hs = append(hs, l.Output())
	}
	return hs
}

// Backward propagates dL/d(last hidden state) (overwritten) through the
// layers and embeddings, accumulating gradients of trainable parameters. It
// stops at the lowest layer that has anything trainable at or below it, and
// that layer computes no input gradient (the frozen-input GEMMs are skipped).
func (e *Encoder) Backward(dh []float32) {
	n := e.n
	H := e.hidden
	F := e.Layers[0].Inter.OutFeatures()
	embTrain := e.Embeddings.HasTrainable()
	relTrain := e.Rel != nil && e.Rel.NeedGrad()
	first := -1
	for i, l := range e.Layers {
		if relTrain || l.HasTrainable() {
			first = i
			break
		}
	}
	if first < 0 && !embTrain {
		return
	}
	e.ws.ensure(n, H, F)
	e.dbuf[0] = grow(e.dbuf[0], n*H)
	e.dbuf[1] = grow(e.dbuf[1], n*H)
	cur := dh
	for i := len(e.Layers) - 1; i >= 0; i-- {
		if !embTrain && i < first {
			break
		}
		var dx []float32
		if embTrain || i > first {
			dx = e.dbuf[i%2]
		}
		e.Layers[i].Backward(dx, cur, &e.ws)
		cur = dx
	}
	if e.Rel != nil {
		e.Rel.Backward()
	}
	if embTrain {
		e.Embeddings.Backward(cur)
	}
}
