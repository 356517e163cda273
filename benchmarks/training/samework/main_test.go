package main

import (
	"strings"
	"testing"

	"github.com/openmed/openmed/core/corpus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWordTagsReadsOwnedPositionsAndRepairs(t *testing.T) {
	test, err := corpus.Read(strings.NewReader("a\tO\nb\tB-Disease\nc\tI-Disease\nd\tO\n\ne\tO\nf\tO\n"), "t.tsv")
	require.NoError(t, err)
	f := &Features{Labels: []string{"O", "B-Disease", "I-Disease"}, Test: []TestExample{
		// [CLS] a b ##b c [SEP]; word d is owned by the next window.
		{Sent: 0, IDs: make([]int32, 6), Owned: []int{-1, 0, 1, -1, 2, -1}},
		{Sent: 0, IDs: make([]int32, 4), Owned: []int{-1, -1, 3, -1}},
		{Sent: 1, IDs: make([]int32, 4), Owned: []int{-1, 0, 1, -1}},
	}}
	argmax := [][]int32{{0, 0, 1, 0, 2, 0}, {0, 1, 0, 0}, {0, 2, 0, 0}}
	pred, err := wordTags(f, test, argmax)
	require.NoError(t, err)
	// Position 1 of window 1 is not owned (ignored); an I- after O is repaired to B-.
	assert.Equal(t, [][]string{{"O", "B-Disease", "I-Disease", "O"}, {"B-Disease", "O"}}, pred)

	_, err = wordTags(f, test, argmax[:2])
	assert.ErrorContains(t, err, "2 windows")
	argmax[2][1] = 7
	_, err = wordTags(f, test, argmax)
	assert.ErrorContains(t, err, "class 7 out of range")
}
