package tagger

import (
	"sort"

	"github.com/openmed/openmed/core/scheme"
)

// unionEntities merges the entities several adapters found in one document:
// the union of their typed entities, where two adapters that share a label
// (say an NCBI-Disease and a BC5CDR-Disease adapter, both "Disease") and
// find overlapping spans of that label contribute one entity, the one with
// the higher score (ties: the adapter attached first, i.e. earlier in ents).
// Labels compare by entity type (token-level "B-Disease" and "I-Disease" are
// both Disease); entities of different types never suppress each other, and
// "O" groups (kept with empty ignore labels) are each adapter's own view and
// all stay. The result is sorted by byte offset, then end, then label.
//
// With OverlapAny the type does not matter: overlapping typed entities of
// any types collapse into the higher-scoring one (a flat list).
func unionEntities(ents []Entity, policy Overlap) []Entity {
	order := make([]int, len(ents))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return ents[order[a]].Score > ents[order[b]].Score })
	kept := make([]Entity, 0, len(ents))
	for _, i := range order {
		e := ents[i]
		dup := false
		typ := entityType(e.Label)
		for _, k := range kept {
			kt := entityType(k.Label)
			if typ != "O" && kt != "O" && (kt == typ || policy == OverlapAny) && k.StartByte < e.EndByte && e.StartByte < k.EndByte {
				dup = true
				break
			}
		}
		if !dup {
			kept = append(kept, e)
		}
	}
	sort.SliceStable(kept, func(a, b int) bool {
		x, y := kept[a], kept[b]
		if x.StartByte != y.StartByte {
			return x.StartByte < y.StartByte
		}
		if x.EndByte != y.EndByte {
			return x.EndByte < y.EndByte
		}
		return x.Label < y.Label
	})
	return kept
}

// entityType is a label's entity type (scheme.ParseTag): "B-Disease" →
// "Disease", "O" → "O"; a group label ("Disease") or a bare prefix is its
// own type.
func entityType(label string) string {
	p, typ, ok := scheme.ParseTag(label)
	switch {
	case !ok || typ == "" && p != scheme.PrefixO:
		return label
	case p == scheme.PrefixO:
		return "O"
	}
	return typ
}
