package dapt

import (
	"fmt"
	"math"

	"github.com/openmed/openmed/core/tensor"
)

// mlmLoss is cross-entropy (mean over the k gathered masked rows, no label
// smoothing) over vocabulary logits [k, V], as loss.CrossEntropy computes it,
// but with the vectorised float32 softmax of core/tensor: with a 30k-entry
// vocabulary the float64 exp of the generic loss dominates a small model's
// step. When dlogits is non-nil it receives (softmax − onehot)/k; it may not
// alias logits. correct counts rows whose argmax is the label.
func mlmLoss(logits []float32, k, V int, labels []int32, dlogits []float32) (loss float64, correct int, err error) {
	if len(logits) != k*V || len(labels) != k || (dlogits != nil && len(dlogits) != k*V) {
		return 0, 0, fmt.Errorf("dapt: mlm loss: %d logits, %d labels, vocab %d", len(logits), len(labels), V)
	}
	if k == 0 {
		return 0, 0, nil
	}
	p := dlogits
	if p == nil {
		p = make([]float32, k*V)
	}
	copy(p, logits)
	tensor.SoftmaxRows(p, k, V, nil)
	inv := 1 / float32(k)
	for i, y := range labels {
		if y < 0 || int(y) >= V {
			return 0, 0, fmt.Errorf("dapt: mlm label %d outside [0, %d)", y, V)
		}
		row := p[i*V : (i+1)*V]
		loss -= math.Log(math.Max(float64(row[y]), 1e-30))
		lr := logits[i*V : (i+1)*V]
		best := 0
		for v := 1; v < V; v++ {
			if lr[v] > lr[best] {
				best = v
			}
		}
		if best == int(y) {
			correct++
		}
		if dlogits != nil {
			row[y]--
			for v := range row {
				row[v] *= inv
			}
		}
	}
	return loss / float64(k), correct, nil
}
