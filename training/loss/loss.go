// Package loss holds the token-classification training loss of the OpenMed
// NER paper: cross-entropy with label smoothing over BIO tags, ignoring
// sub-word and padding positions (label -100), as torch.nn.CrossEntropyLoss.
package loss

import (
	"fmt"
	"math"
)

// IgnoreIndex is the label that excludes a position from the loss
// (torch.nn.CrossEntropyLoss ignore_index default, HF's convention for
// continuation sub-words, special tokens and padding).
const IgnoreIndex = -100

// CrossEntropy computes torch.nn.functional.cross_entropy(logits.view(n, c),
// labels, ignore_index=-100, label_smoothing=smoothing, reduction="mean"):
//
//	loss = mean over t with y_t ≠ -100 of (1−ε)·(−log p_t[y_t]) + ε·mean_c(−log p_t[c])
//
// where p_t = softmax(logits_t). logits is row-major [n, c]. When dlogits is
// non-nil (length n·c) it receives dloss/dlogits:
// (p_t − (1−ε)·onehot(y_t) − ε/c) / count for counted rows and 0 for ignored
// rows. count is the number of counted rows; with count 0 the loss is 0 (torch
// returns NaN; a batch without labels contributes nothing here) and dlogits is
// zeroed. Inconsistent lengths or a label outside [0, c) other than -100
// give NaN and count 0; CrossEntropyChecked returns the error instead.
// Accumulation is in float64.
func CrossEntropy(logits []float32, n, c int, labels []int32, smoothing float32, dlogits []float32) (loss float32, count int) {
	l, cnt, err := CrossEntropyChecked(logits, n, c, labels, smoothing, dlogits)
	if err != nil {
		return float32(math.NaN()), 0
	}
	return l, cnt
}

// CrossEntropyChecked is CrossEntropy returning an error for inconsistent
// lengths, an out-of-range label or a smoothing outside [0, 1].
func CrossEntropyChecked(logits []float32, n, c int, labels []int32, smoothing float32, dlogits []float32) (float32, int, error) {
	if n < 0 || c <= 0 || len(logits) != n*c || len(labels) != n {
		return 0, 0, fmt.Errorf("loss: logits %d values, labels %d, want n=%d × c=%d", len(logits), len(labels), n, c)
	}
	if dlogits != nil && len(dlogits) != n*c {
		return 0, 0, fmt.Errorf("loss: dlogits has %d values, want %d", len(dlogits), n*c)
	}
	if smoothing < 0 || smoothing > 1 {
		return 0, 0, fmt.Errorf("loss: label smoothing %g outside [0, 1]", smoothing)
	}
	count := 0
	for i, y := range labels {
		if y == IgnoreIndex {
			continue
		}
		if y < 0 || int(y) >= c {
			return 0, 0, fmt.Errorf("loss: label %d at row %d outside [0, %d)", y, i, c)
		}
		count++
	}
	if dlogits != nil {
		clear(dlogits)
	}
	if count == 0 {
		return 0, 0, nil
	}
	eps := float64(smoothing)
	inv := 1 / float64(count)
	var total float64
	for i := range n {
		y := labels[i]
		if y == IgnoreIndex {
			continue
		}
		row := logits[i*c : (i+1)*c]
		mx := math.Inf(-1)
		for _, v := range row {
			mx = math.Max(mx, float64(v))
		}
		var sum, sumLogit float64
		for _, v := range row {
			sum += math.Exp(float64(v) - mx)
			sumLogit += float64(v)
		}
		lse := mx + math.Log(sum)
		nll := lse - float64(row[y])
		smooth := lse - sumLogit/float64(c) // mean_c(−log p_c)
		total += (1-eps)*nll + eps*smooth
		if dlogits != nil {
			d := dlogits[i*c : (i+1)*c]
			for j, v := range row {
				g := math.Exp(float64(v)-lse) - eps/float64(c)
				if j == int(y) {
					g -= 1 - eps
				}
				d[j] = float32(g * inv)
			}
		}
	}
	return float32(total * inv), count, nil
}
