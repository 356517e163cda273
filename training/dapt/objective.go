package dapt

import (
	"math"
	"math/rand/v2"

	"github.com/openmed/openmed/core/model"
	"github.com/openmed/openmed/training/loop"
	"github.com/openmed/openmed/training/loss"
)

// HeldOut is the masked-LM evaluation on the held-out blocks with fixed masks.
type HeldOut struct {
	// Loss is the mean cross-entropy over masked tokens; Perplexity is exp(Loss).
	Loss       float64 `json:"loss"`
	Perplexity float64 `json:"perplexity"`
	// Accuracy is the share of masked tokens predicted exactly.
	Accuracy float64 `json:"accuracy"`
	// Masked is the number of masked tokens scored.
	Masked int `json:"masked"`
}

// mlmObjective is the masked-LM loop.Objective: shuffled packed blocks,
// fresh masks per batch drawn from (seed, epoch, batch), the decoder run on
// masked positions only.
type mlmObjective struct {
	m         *model.Model
	masker    *Masker
	train     [][]int32
	held      []maskedBlock
	batchSize int
	pad       int32
	seed      uint64
	epoch     int
	order     []int
	dlogits   []float32
}

type maskedBlock struct{ input, labels []int32 }

// Batches implements loop.Objective: blocks shuffled by (seed, epoch).
func (o *mlmObjective) Batches(epoch int) int {
	if epoch != o.epoch || o.order == nil {
		r := rand.New(rand.NewPCG(o.seed, 0x6461707400+uint64(epoch)))
		o.order = r.Perm(len(o.train))
		o.epoch = epoch
	}
	return (len(o.train) + o.batchSize - 1) / o.batchSize
}

// batch builds a padded model batch and the flat masked positions and labels.
func (o *mlmObjective) batch(blocks []maskedBlock) (*model.Batch, []int, []int32) {
	L := 0
	for _, b := range blocks {
		L = max(L, len(b.input))
	}
	mb := &model.Batch{Batch: len(blocks), SeqLen: L, InputIDs: make([]int32, len(blocks)*L), AttentionMask: make([]float32, len(blocks)*L)}
	var pos []int
	var labels []int32
	for i, b := range blocks {
		for j := 0; j < L; j++ {
			k := i*L + j
			if j >= len(b.input) {
				mb.InputIDs[k] = o.pad
				continue
			}
			mb.InputIDs[k] = b.input[j]
			mb.AttentionMask[k] = 1
			if b.labels[j] != loss.IgnoreIndex {
				pos = append(pos, k)
				labels = append(labels, b.labels[j])
			}
		}
	}
	return mb, pos, labels
}

// Step implements loop.Objective: fresh masks from (seed, epoch, i),
// decoder on masked positions only, cross-entropy, backward.
func (o *mlmObjective) Step(epoch, i int) (loop.StepStats, error) {
	o.Batches(epoch)
	lo, hi := i*o.batchSize, min((i+1)*o.batchSize, len(o.order))
	r := rand.New(rand.NewPCG(o.seed^0x6d61736b, uint64(epoch)<<32|uint64(i)))
	blocks := make([]maskedBlock, 0, hi-lo)
	tokens := 0
	for _, k := range o.order[lo:hi] {
		in, lab := o.masker.Mask(o.train[k], r)
		blocks = append(blocks, maskedBlock{in, lab})
		tokens += len(in)
	}
	mb, pos, labels := o.batch(blocks)
	if len(pos) == 0 {
		return loop.StepStats{Tokens: tokens}, nil
	}
	logits, err := o.m.ForwardMasked(mb, pos)
	if err != nil {
		return loop.StepStats{}, err
	}
	V := logits.Shape[1]
	o.dlogits = growF(o.dlogits, len(logits.Data))
	l, _, err := mlmLoss(logits.Data, len(pos), V, labels, o.dlogits)
	if err != nil {
		return loop.StepStats{}, err
	}
	if err := o.m.BackwardMasked(o.dlogits); err != nil {
		return loop.StepStats{}, err
	}
	return loop.StepStats{Loss: float64(l), Tokens: tokens}, nil
}

// heldOut scores the fixed held-out masks in eval mode.
func (o *mlmObjective) heldOut() (HeldOut, error) {
	defer o.m.InferenceMode()()
	var sum float64
	var n, correct int
	for lo := 0; lo < len(o.held); lo += o.batchSize {
		mb, pos, labels := o.batch(o.held[lo:min(lo+o.batchSize, len(o.held))])
		if len(pos) == 0 {
			continue
		}
		logits, err := o.m.ForwardMasked(mb, pos)
		if err != nil {
			return HeldOut{}, err
		}
		V := logits.Shape[1]
		o.dlogits = growF(o.dlogits, len(logits.Data))
		l, c, err := mlmLoss(logits.Data, len(pos), V, labels, o.dlogits)
		if err != nil {
			return HeldOut{}, err
		}
		sum += l * float64(len(pos))
		n += len(pos)
		correct += c
	}
	if n == 0 {
		return HeldOut{}, nil
	}
	mean := sum / float64(n)
	return HeldOut{Loss: mean, Perplexity: math.Exp(mean), Accuracy: float64(correct) / float64(n), Masked: n}, nil
}

// Evaluate implements loop.Objective: the score is −held-out loss.
func (o *mlmObjective) Evaluate() (*loop.EvalStats, error) {
	h, err := o.heldOut()
	if err != nil {
		return nil, err
	}
	return &loop.EvalStats{Score: -h.Loss, Fields: map[string]float64{
		"heldout_loss": h.Loss, "heldout_perplexity": h.Perplexity, "heldout_accuracy": h.Accuracy}}, nil
}

func growF(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}
