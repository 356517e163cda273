package tensor

// SoftmaxRow replaces row with softmax(row) over the entries whose keyMask
// value is non-zero; masked entries become 0 (equivalent to HF's additive
// finfo.min mask, which underflows to exactly 0). keyMask may be nil (no
// mask). A row whose entries are all masked becomes uniform, as HF's
// additive mask gives.
func SoftmaxRow(row, keyMask []float32) { cSoftmaxRows(row, 1, len(row), keyMask) }

// SoftmaxRowsSerial is SoftmaxRow over rows rows of width cols on the calling
// goroutine (for callers that already run in parallel, e.g. per attention head).
func SoftmaxRowsSerial(x []float32, rows, cols int, keyMask []float32) {
	cSoftmaxRows(x[:rows*cols], rows, cols, keyMask)
}

// SoftmaxRows applies SoftmaxRow to each of rows rows of width cols, in
// parallel; keyMask (length cols or nil) applies to every row.
func SoftmaxRows(x []float32, rows, cols int, keyMask []float32) {
	Parallel(rows, 16, func(lo, hi int) {
		cSoftmaxRows(x[lo*cols:hi*cols], hi-lo, cols, keyMask)
	})
}

// SoftmaxBackwardRow writes ds = p ⊙ (dp − Σ dp⊙p) for one row (ds may alias
// dp): the Jacobian-vector product of softmax.
func SoftmaxBackwardRow(ds, dp, p []float32) { cSoftmaxBackwardRows(ds, dp, p, 1, len(p)) }

// SoftmaxBackwardRowsSerial is SoftmaxBackwardRow over rows rows of width cols.
func SoftmaxBackwardRowsSerial(ds, dp, p []float32, rows, cols int) {
	cSoftmaxBackwardRows(ds[:rows*cols], dp[:rows*cols], p[:rows*cols], rows, cols)
}
