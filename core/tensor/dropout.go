package tensor

// Dropout implements inverted dropout (torch.nn.Dropout in training mode):
// each element is kept with probability 1−p and scaled by 1/(1−p). The mask
// is a pure function of (seed, index): element i of a call with a given seed
// is kept iff DropoutKeep(seed, offset+i, p), so Backward recomputes it
// instead of storing it, and results do not depend on the thread count.
// y may alias x.
func Dropout(y, x []float32, p float32, seed uint64, offset int) {
	if p <= 0 {
		if &y[0] != &x[0] {
			copy(y, x)
		}
		return
	}
	scale := 1 / (1 - p)
	thr := dropThreshold(p)
	if len(x) < 65536 {
		cDropout(y[:len(x)], x, thr, scale, seed, offset)
		return
	}
	Parallel(len(x), 8192, func(lo, hi int) {
		cDropout(y[lo:hi], x[lo:hi], thr, scale, seed, offset+lo)
	})
}

// DropoutKeep reports whether element i survives dropout with probability p
// under seed (the mask Dropout uses).
func DropoutKeep(seed uint64, i int, p float32) bool {
	return hash32(seed, uint64(i)) >= dropThreshold(p)
}

func dropThreshold(p float32) uint32 {
	if p >= 1 {
		return ^uint32(0)
	}
	return uint32(float64(p) * 4294967296.0)
}

// SplitMix64 advances a splitmix64 state and returns the next value; layers
// use it to draw a fresh dropout seed per forward pass from their RNG state.
func SplitMix64(state *uint64) uint64 {
	*state += 0x9e3779b97f4a7c15
	z := *state
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}
