package lora

// RNGState returns the state of the layer's dropout RNG (a splitmix64
// state), so a trainer can checkpoint it and resume bit-identically.
func (l *Linear) RNGState() uint64 { return l.rng }

// SetRNGState restores (or re-seeds) the dropout RNG state returned by
// RNGState; the next Forward in training mode draws its mask from it.
func (l *Linear) SetRNGState(s uint64) { l.rng = s }
