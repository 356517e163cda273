package tagger

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestUnionEntities: same-label overlaps from two adapters collapse to the
// higher-scoring entity; different labels and disjoint spans all stay; the
// result is in offset order.
func TestUnionEntities(t *testing.T) {
	ents := []Entity{
		{Label: "Disease", Score: 0.7, StartByte: 20, EndByte: 34, Adapter: "disease"},
		{Label: "Disease", Score: 0.6, StartByte: 0, EndByte: 11, Adapter: "disease"},
		{Label: "Chemical", Score: 0.9, StartByte: 0, EndByte: 10, Adapter: "chemical"},
		{Label: "Disease", Score: 0.8, StartByte: 20, EndByte: 34, Adapter: "disease-cdr"},
		{Label: "Disease", Score: 0.5, StartByte: 25, EndByte: 40, Adapter: "disease-cdr"},
		{Label: "Disease", Score: 0.9, StartByte: 40, EndByte: 50, Adapter: "disease-cdr"},
	}
	got := unionEntities(ents, OverlapSameType)
	assert.Equal(t, []Entity{
		{Label: "Chemical", Score: 0.9, StartByte: 0, EndByte: 10, Adapter: "chemical"},
		{Label: "Disease", Score: 0.6, StartByte: 0, EndByte: 11, Adapter: "disease"},
		{Label: "Disease", Score: 0.8, StartByte: 20, EndByte: 34, Adapter: "disease-cdr"},
		{Label: "Disease", Score: 0.9, StartByte: 40, EndByte: 50, Adapter: "disease-cdr"},
	}, got)
	// Equal scores: the first adapter's entity wins.
	tie := unionEntities([]Entity{
		{Label: "Disease", Score: 0.5, StartByte: 0, EndByte: 4, Adapter: "a"},
		{Label: "Disease", Score: 0.5, StartByte: 0, EndByte: 4, Adapter: "b"},
	}, OverlapSameType)
	assert.Equal(t, []Entity{{Label: "Disease", Score: 0.5, StartByte: 0, EndByte: 4, Adapter: "a"}}, tie)
	assert.Empty(t, unionEntities(nil, OverlapSameType))
	// Token level: B-/I- of one type collapse; O groups all stay.
	tok := unionEntities([]Entity{
		{Label: "B-Disease", Score: 0.6, StartByte: 0, EndByte: 4, Index: 1, Adapter: "a"},
		{Label: "O", Score: 0.9, StartByte: 5, EndByte: 8, Index: 2, Adapter: "a"},
		{Label: "I-Disease", Score: 0.7, StartByte: 0, EndByte: 4, Index: 1, Adapter: "b"},
		{Label: "O", Score: 0.8, StartByte: 5, EndByte: 8, Index: 2, Adapter: "b"},
	}, OverlapSameType)
	assert.Equal(t, []Entity{
		{Label: "I-Disease", Score: 0.7, StartByte: 0, EndByte: 4, Index: 1, Adapter: "b"},
		{Label: "O", Score: 0.9, StartByte: 5, EndByte: 8, Index: 2, Adapter: "a"},
		{Label: "O", Score: 0.8, StartByte: 5, EndByte: 8, Index: 2, Adapter: "b"},
	}, tok)
	assert.Equal(t, "Disease", entityType("B-Disease"))
	assert.Equal(t, "O", entityType("O"))
	assert.Equal(t, "Gene-or-protein", entityType("Gene-or-protein"))

	// OverlapAny: a flat list — the Chemical (0.9) wins over the Disease it
	// overlaps (0.6); O groups still never suppress or get suppressed.
	flat := unionEntities(append(ents, Entity{Label: "O", Score: 1, StartByte: 0, EndByte: 50, Adapter: "chemical"}), OverlapAny)
	assert.Equal(t, []Entity{
		{Label: "Chemical", Score: 0.9, StartByte: 0, EndByte: 10, Adapter: "chemical"},
		{Label: "O", Score: 1, StartByte: 0, EndByte: 50, Adapter: "chemical"},
		{Label: "Disease", Score: 0.8, StartByte: 20, EndByte: 34, Adapter: "disease-cdr"},
		{Label: "Disease", Score: 0.9, StartByte: 40, EndByte: 50, Adapter: "disease-cdr"},
	}, flat)
	v, err := ParseOverlap("flat")
	assert.NoError(t, err)
	assert.Equal(t, OverlapAny, v)
	assert.Equal(t, "any", v.String())
	_, err = ParseOverlap("nested")
	assert.ErrorContains(t, err, "nested")
}
