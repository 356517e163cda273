package tensor

import "math"

// LayerNormForward normalises each of rows rows of x (width cols) as
// torch.nn.LayerNorm: y = (x−mean)/sqrt(var+eps)·gamma + beta with the biased
// variance. mean and rstd (length rows) receive the per-row statistics the
// backward pass needs. y may alias x. Rows run in parallel.
func LayerNormForward(y, x, gamma, beta, mean, rstd []float32, rows, cols int, eps float32) {
	Parallel(rows, 8, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			xr := x[r*cols : (r+1)*cols]
			yr := y[r*cols : (r+1)*cols]
			var s float64
			for _, v := range xr {
				s += float64(v)
			}
			m := float32(s / float64(cols))
			var q float64
			for _, v := range xr {
				d := v - m
				q += float64(d * d)
			}
			rs := float32(1 / math.Sqrt(q/float64(cols)+float64(eps)))
			mean[r], rstd[r] = m, rs
			for j, v := range xr {
				yr[j] = (v-m)*rs*gamma[j] + beta[j]
			}
		}
	})
}

// LayerNormBackward computes dx from dy (dx may alias dy) and, when dgamma
// and dbeta are non-nil, accumulates the parameter gradients into them.
// scratch must hold at least Threads()·2·cols values when dgamma is non-nil
// (per-worker partial sums, so the parameter gradients need no locks). dx may
// be nil when no input gradient is needed.
func LayerNormBackward(dx, dgamma, dbeta, dy, x, gamma, mean, rstd []float32, rows, cols int, scratch []float32) {
	nch := min(Threads(), rows)
	if dgamma == nil {
		nch = min(nch, rows) // chunking only for parallelism
	}
	if nch < 1 {
		return
	}
	chunk := (rows + nch - 1) / nch
	if dgamma != nil {
		clear(scratch[:nch*2*cols])
	}
	Parallel(nch, 1, func(clo, chi int) {
		for c := clo; c < chi; c++ {
			var pg, pb []float32
			if dgamma != nil {
				pg = scratch[c*2*cols : c*2*cols+cols]
				pb = scratch[c*2*cols+cols : (c+1)*2*cols]
			}
			for r := c * chunk; r < min((c+1)*chunk, rows); r++ {
				xr := x[r*cols : (r+1)*cols]
				dyr := dy[r*cols : (r+1)*cols]
				m, rs := mean[r], rstd[r]
				if pg != nil {
					for j, g := range dyr {
						pg[j] += g * (xr[j] - m) * rs
						pb[j] += g
					}
				}
				if dx == nil {
					continue
				}
				// dxhat = dy·gamma; dx = rs·(dxhat − mean(dxhat) − xhat·mean(dxhat·xhat)).
				var s1, s2 float32
				for j, g := range dyr {
					dh := g * gamma[j]
					s1 += dh
					s2 += dh * (xr[j] - m) * rs
				}
				s1 /= float32(cols)
				s2 /= float32(cols)
				dxr := dx[r*cols : (r+1)*cols]
				for j, g := range dyr {
					xh := (xr[j] - m) * rs
					dxr[j] = rs * (g*gamma[j] - s1 - xh*s2)
				}
			}
		}
	})
	if dgamma != nil {
		for c := 0; c < nch; c++ {
			pg := scratch[c*2*cols : c*2*cols+cols]
			pb := scratch[c*2*cols+cols : (c+1)*2*cols]
			for j := 0; j < cols; j++ {
				dgamma[j] += pg[j]
				dbeta[j] += pb[j]
			}
		}
	}
}
