package training

import (
	"crypto/sha256"
	"fmt"
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestEpochBatchesUnchanged pins EpochBatches to the output of the order it
// replaced in benchmarks/training/samework (lengthGrouped, a copy of the
// trainer's private lengthBatches), recorded from that implementation before
// it was deleted: the same-work benchmark's features.json and resumed runs
// depend on this exact order.
func TestEpochBatchesUnchanged(t *testing.T) {
	small := []int{5, 3, 9, 9, 1, 7, 3, 3, 12, 4, 8, 2, 6}
	assert.Equal(t, [][]int{{8, 2, 3}, {10, 5, 12}, {0, 9, 1}, {7, 6, 11}, {4}}, EpochBatches(small, 3, 42, 0))
	assert.Equal(t, [][]int{{8, 3, 2}, {10, 5, 12}, {0, 9, 6}, {7, 1, 11}, {4}}, EpochBatches(small, 3, 42, 1))

	// 1003 examples in batches of 4: five buckets of 200 and a short one.
	big := make([]int, 1003)
	for i := range big {
		big[i] = (i*7919)%97 + 3
	}
	want := []string{
		"3a61ab535f96810c220614f01ef3014dd981a6fc076963b504e6d331b043c84e",
		"2f386f45bfccc87af4e66739caaa815cb1ef6e904a98b31047f8cb217d0ff619",
		"b45d0bf7cd139daef59ea5cd2a79b8c6f4b0535f914cb3313d4957bae68cb1ba",
	}
	for epoch, w := range want {
		b := EpochBatches(big, 4, 7, epoch)
		assert.Len(t, b, 251, "epoch %d", epoch)
		assert.Equal(t, w, fmt.Sprintf("%x", sha256.Sum256([]byte(fmt.Sprint(b)))), "epoch %d", epoch)
	}
}

func TestEpochBatchesGroupsByLengthAndCoversEachExampleOnce(t *testing.T) {
	lengths := make([]int, 2000)
	for i := range lengths {
		lengths[i] = (i*7919)%97 + 3
	}
	a := EpochBatches(lengths, 16, 42, 0)
	require.Equal(t, a, EpochBatches(lengths, 16, 42, 0), "same seed and epoch give the same batches")
	assert.NotEqual(t, a, EpochBatches(lengths, 16, 42, 1), "another epoch is another order")
	assert.NotEqual(t, a, EpochBatches(lengths, 16, 43, 0), "another seed is another order")
	var all []int
	for i, batch := range a {
		require.LessOrEqual(t, len(batch), 16)
		if i < len(a)-1 {
			assert.Len(t, batch, 16, "only the last batch is short")
		}
		for j := 1; j < len(batch); j++ {
			assert.GreaterOrEqual(t, lengths[batch[j-1]], lengths[batch[j]], "batch %d sorted longest first", i)
		}
		all = append(all, batch...)
	}
	sort.Ints(all)
	require.Len(t, all, len(lengths))
	for i, v := range all {
		require.Equal(t, i, v)
	}
	// Degenerate inputs do not loop or panic.
	assert.Empty(t, EpochBatches(nil, 16, 1, 0))
	assert.Len(t, EpochBatches([]int{3, 1}, 0, 1, 0), 2, "batch size 0 means 1")
}
