package tensor

// SoftmaxRow replaces row with softmax(row) over the entries whose keyMask
// value is non-zero; masked entries become 0 (equivalent to HF's additive
// finfo.min mask, which underflows to exactly 0). keyMask may be nil (no
// mask). A row whose entries are all masked becomes uniform, as HF's
// additive mask gives.
func SoftmaxRow(row, keyMask []float32) {
	mx := float32(-3.4e38)
	any := false
	for j, v := range row {
		if keyMask != nil && keyMask[j] == 0 {
			continue
		}
		any = true
		if v > mx {
			mx = v
		}
	}
	if !any {
		u := 1 / float32(len(row))
		for j := range row {
			row[j] = u
		}
		return
	}
	var s float32
	for j, v := range row {
		if keyMask != nil && keyMask[j] == 0 {
			row[j] = 0
			continue
		}
		e := Expf(v - mx)
		row[j] = e
		s += e
	}
	inv := 1 / s
	for j := range row {
		row[j] *= inv
	}
}

// SoftmaxRows applies SoftmaxRow to each of rows rows of width cols, in
// parallel; keyMask (length cols or nil) applies to every row.
func SoftmaxRows(x []float32, rows, cols int, keyMask []float32) {
	Parallel(rows, 16, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			SoftmaxRow(x[r*cols:(r+1)*cols], keyMask)
		}
	})
}

// SoftmaxBackwardRow writes ds = p ⊙ (dp − Σ dp⊙p) for one row (ds may alias
// dp): the Jacobian-vector product of softmax.
func SoftmaxBackwardRow(ds, dp, p []float32) {
	var dot float32
	for j, v := range p {
		dot += v * dp[j]
	}
	for j, v := range p {
		ds[j] = v * (dp[j] - dot)
	}
}
