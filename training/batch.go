package training

import (
	"math/rand/v2"
	"sort"

	"github.com/openmed/openmed/core/model"
	"github.com/openmed/openmed/training/loss"
)

// BucketBatches is the number of batches per length bucket (HF
// LengthGroupedSampler's megabatch_mult = 50): examples are shuffled,
// cut into buckets of BucketBatches×batchSize, sorted by length inside each
// bucket and cut into batches, so padding stays small while the order stays
// random.
const BucketBatches = 50

// lengthBatches returns the epoch's batches as example indices: a seeded
// shuffle (seed, epoch), then length-sorted buckets of BucketBatches batches
// (longest first inside a bucket, ties in shuffled order). The order depends
// only on (seed, epoch, lengths), so a resumed run sees the same batches.
func lengthBatches(lengths []int, batchSize int, seed uint64, epoch int) [][]int {
	r := rand.New(rand.NewPCG(seed, 0x62617463680000+uint64(epoch)))
	perm := r.Perm(len(lengths))
	var out [][]int
	bucket := BucketBatches * batchSize
	for lo := 0; lo < len(perm); lo += bucket {
		b := perm[lo:min(lo+bucket, len(perm))]
		sort.SliceStable(b, func(i, j int) bool { return lengths[b[i]] > lengths[b[j]] })
		for s := 0; s < len(b); s += batchSize {
			out = append(out, b[s:min(s+batchSize, len(b))])
		}
	}
	return out
}

// sequentialBatches groups indices sorted by length (longest first) into
// batches, for evaluation where order does not matter.
func sequentialBatches(lengths []int, batchSize int) [][]int {
	idx := make([]int, len(lengths))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(i, j int) bool { return lengths[idx[i]] > lengths[idx[j]] })
	var out [][]int
	for s := 0; s < len(idx); s += batchSize {
		out = append(out, idx[s:min(s+batchSize, len(idx))])
	}
	return out
}

// collate pads the examples to the batch's longest (HF
// DataCollatorForTokenClassification: input ids with pad_token_id, attention
// mask 0 and labels -100 on padding).
func collate(exs []*Example, padID int32) (*model.Batch, []int32) {
	L := 0
	for _, e := range exs {
		L = max(L, len(e.IDs))
	}
	b := &model.Batch{Batch: len(exs), SeqLen: L,
		InputIDs: make([]int32, len(exs)*L), AttentionMask: make([]float32, len(exs)*L)}
	labels := make([]int32, len(exs)*L)
	for i, e := range exs {
		row := i * L
		for j := 0; j < L; j++ {
			if j < len(e.IDs) {
				b.InputIDs[row+j] = e.IDs[j]
				b.AttentionMask[row+j] = 1
				if e.Labels != nil {
					labels[row+j] = e.Labels[j]
				} else {
					labels[row+j] = loss.IgnoreIndex
				}
			} else {
				b.InputIDs[row+j] = padID
				labels[row+j] = loss.IgnoreIndex
			}
		}
	}
	return b, labels
}

func exampleLengths(exs []Example) []int {
	out := make([]int, len(exs))
	for i, e := range exs {
		out[i] = len(e.IDs)
	}
	return out
}
