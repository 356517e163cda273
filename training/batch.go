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

// EpochBatches returns one epoch's training batches as example indices,
// grouped by length in the manner of Hugging Face Trainer's group_by_length
// (trainer_pt_utils.LengthGroupedSampler / get_length_grouped_indices):
// the indices are shuffled, cut into mega-batches ("buckets") of
// BucketBatches×batchSize, each bucket is sorted by length longest first
// (stable: ties keep their shuffled order) and cut into batches of
// batchSize; only the last batch of the epoch can be short. It is what
// Train draws batches from, exported so a peer (benchmarks/training/samework)
// can replay the exact order.
//
// What it does differently from HF, on purpose:
//   - the shuffle is Go's math/rand/v2 PCG seeded with (seed,
//     0x62617463680000+epoch) ("batch"+epoch), a fresh generator per epoch,
//     so the order depends only on (lengths, batchSize, seed, epoch) and a
//     resumed run sees the same batches; HF draws torch.randperm from one
//     generator that runs on across epochs;
//   - the bucket is always BucketBatches (50) batches, where HF uses
//     min(len(lengths)/(4·batchSize), 50) (at least 1) batches;
//   - the batch holding the longest example is not moved to the front (HF
//     swaps it first to surface out-of-memory errors early).
//
// batchSize below 1 is treated as 1.
func EpochBatches(lengths []int, batchSize int, seed uint64, epoch int) [][]int {
	batchSize = max(batchSize, 1)
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
