package tensor

// Resize returns a tensor of the given shape that reuses t's storage when its
// capacity suffices (contents are then stale; callers overwrite them) and
// allocates otherwise. t may be nil. This is how layers keep their
// activation and gradient buffers across steps without allocating.
func Resize(t *Tensor, shape ...int) *Tensor {
	n := Numel(shape)
	if t == nil {
		t = &Tensor{}
	}
	if cap(t.Data) >= n {
		t.Data = t.Data[:n]
	} else {
		t.Data = make([]float32, n)
	}
	t.Shape = append(t.Shape[:0], shape...)
	return t
}

// AddRowVector adds v (length cols) to every row of x (rows×cols), in parallel.
func AddRowVector(x, v []float32, rows, cols int) {
	Parallel(rows, 16, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			xr := x[r*cols : (r+1)*cols]
			for j := range xr {
				xr[j] += v[j]
			}
		}
	})
}

// BroadcastRows writes v (length cols) into every row of x (rows×cols), used
// to pre-load a bias before an Sgemm with beta=1.
func BroadcastRows(x, v []float32, rows, cols int) {
	Parallel(rows, 16, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			copy(x[r*cols:(r+1)*cols], v)
		}
	})
}

// SumRows accumulates the column sums of x (rows×cols) into out (length
// cols): the bias gradient of a Linear layer.
func SumRows(out, x []float32, rows, cols int) {
	for r := 0; r < rows; r++ {
		xr := x[r*cols : (r+1)*cols]
		for j, v := range xr {
			out[j] += v
		}
	}
}

// Add writes z = x + y element-wise (z may alias either), in parallel.
func Add(z, x, y []float32) {
	Parallel(len(z), 8192, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			z[i] = x[i] + y[i]
		}
	})
}

// AddInPlace accumulates y into x element-wise, in parallel.
func AddInPlace(x, y []float32) {
	Parallel(len(x), 8192, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			x[i] += y[i]
		}
	})
}

// Scale multiplies x by s in place.
func Scale(x []float32, s float32) {
	for i := range x {
		x[i] *= s
	}
}
