package model

import (
	"fmt"

	"github.com/openmed/openmed/core/tensor"
)

// ForwardMasked runs the encoder on b and the masked-LM head only at the
// given flat token positions (indices into b's Batch×SeqLen tokens), returning
// logits [len(positions), vocab]. It equals the rows of Forward's logits at
// those positions but computes the hidden×vocab decoder GEMM for the masked
// tokens only (HF's MLM loss ignores every other position, so this is the
// same loss at a fraction of the cost). The tensor is owned by m.
func (m *Model) ForwardMasked(b *Batch, positions []int) (*tensor.Tensor, error) {
	if m.MLM == nil {
		return nil, fmt.Errorf("model: ForwardMasked needs the masked-LM head (task MaskedLM)")
	}
	if err := b.Validate(); err != nil {
		return nil, err
	}
	n := b.Tokens()
	for i, p := range positions {
		if p < 0 || p >= n {
			return nil, fmt.Errorf("model: masked position %d (#%d) outside [0, %d)", p, i, n)
		}
	}
	m.prepareSlots()
	h, err := m.Encoder.Forward(b, m.train, &m.rng)
	if err != nil {
		return nil, err
	}
	m.batch = b
	H := m.Config.HiddenSize
	k := len(positions)
	m.gathered = grow(m.gathered, k*H)
	for i, p := range positions {
		copy(m.gathered[i*H:(i+1)*H], h[p*H:(p+1)*H])
	}
	m.positions = append(m.positions[:0], positions...)
	out := m.MLM.Forward(m.gathered, k)
	m.logits = tensor.Resize(m.logits, k, m.MLM.vocab)
	copy(m.logits.Data, out)
	return m.logits, nil
}

// BackwardMasked is Backward for ForwardMasked: dlogits is dL/d(logits at
// the masked positions) [len(positions), vocab]; the hidden-state gradient is
// scattered back to those positions (zero elsewhere) and propagated through
// the encoder.
func (m *Model) BackwardMasked(dlogits []float32) error {
	if m.batch == nil || m.MLM == nil {
		return fmt.Errorf("model: BackwardMasked called before ForwardMasked")
	}
	k := len(m.positions)
	V := m.MLM.vocab
	if len(dlogits) != k*V {
		return fmt.Errorf("model: dlogits has %d values, want %d", len(dlogits), k*V)
	}
	H := m.Config.HiddenSize
	n := m.batch.Tokens()
	m.dgathered = grow(m.dgathered, k*H)
	m.MLM.Backward(m.dgathered, dlogits, k)
	m.dh = grow(m.dh, n*H)
	clear(m.dh)
	for i, p := range m.positions {
		row, g := m.dh[p*H:(p+1)*H], m.dgathered[i*H:(i+1)*H]
		for j := range row {
			row[j] += g[j]
		}
	}
	m.Encoder.Backward(m.dh)
	return nil
}

// prepareSlots resets adapter caches and propagates the training flag before
// a forward pass, as Forward does.
func (m *Model) prepareSlots() {
	if m.slots == nil {
		m.slots = m.projections()
	}
	for _, p := range m.slots {
		if r, ok := (*p.Slot).(interface{ ResetCache() }); ok {
			r.ResetCache()
		}
		if t, ok := (*p.Slot).(interface{ SetTraining(bool) }); ok {
			t.SetTraining(m.train)
		}
	}
}

// RNGState returns the dropout RNG state (splitmix64), for checkpoints;
// Seed restores it.
func (m *Model) RNGState() uint64 { return m.rng }
