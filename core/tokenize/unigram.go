package tokenize

import (
	"fmt"
	"math"
	"sort"
	"unicode/utf8"
)

// unkPenalty is SentencePiece's kUnkPenalty: unknown chars score
// min_score - 10.
const unkPenalty = 10.0

// unigram is HF's models.Unigram with encode_optimized (SentencePiece's
// Viterbi over a byte trie), fuse_unk on and optional byte_fallback.
type unigram struct {
	pieces       []string
	scores       []float64
	ids          map[string]int32
	unkID        int32
	hasUnk       bool
	minScore     float64
	byteFallback bool
	trie         *byteTrie
}

func newUnigram(pieces []string, scores []float64, unkID *int, byteFallback bool) (*unigram, error) {
	u := &unigram{pieces: pieces, scores: scores, ids: make(map[string]int32, len(pieces)), byteFallback: byteFallback}
	if unkID == nil {
		return nil, fmt.Errorf("model.unk_id: required (an unknown char would have no segmentation)")
	}
	if unkID != nil {
		if len(pieces) == 0 {
			return nil, fmt.Errorf("model.vocab is empty but unk_id is set")
		}
		if *unkID < 0 || *unkID >= len(pieces) {
			return nil, fmt.Errorf("model.unk_id %d is outside the vocabulary (%d pieces)", *unkID, len(pieces))
		}
		u.unkID, u.hasUnk = int32(*unkID), true
	}
	u.minScore = math.Inf(1)
	for i, p := range pieces {
		u.ids[p] = int32(i)
		if scores[i] < u.minScore {
			u.minScore = scores[i]
		}
	}
	u.trie = buildByteTrie(u.ids, u.scores)
	return u, nil
}

func (u *unigram) kind() ModelKind { return ModelUnigram }
func (u *unigram) size() int       { return len(u.pieces) }

func (u *unigram) tokenToID(tok string) (int32, bool) {
	id, ok := u.ids[tok]
	return id, ok
}

func (u *unigram) idToToken(id int32) (string, bool) {
	if id < 0 || int(id) >= len(u.pieces) {
		return "", false
	}
	return u.pieces[id], true
}

type bestNode struct {
	score float64
	start int32 // -1: unset
	id    int32
}

func (u *unigram) tokenize(word []byte, out []piece, ws *workspace) []piece {
	n := len(word)
	if n == 0 {
		return out
	}
	if cap(ws.best) < n+1 {
		ws.best = make([]bestNode, n+1)
	}
	best := ws.best[:n+1]
	for i := range best {
		best[i] = bestNode{start: -1}
	}
	best[0].start = 0 // HF: default node, score 0 (start unused at 0)
	unkScore := u.minScore - unkPenalty
	for pos := 0; pos < n; {
		here := best[pos].score
		mblen := 1
		if word[pos] >= utf8.RuneSelf {
			_, mblen = utf8.DecodeRune(word[pos:])
		}
		single := false
		tr := u.trie
		for i, node := pos+1, tr.root[word[pos]]; node >= 0; i++ {
			nd := &tr.nodes[node]
			if id := nd.id; id >= 0 {
				t := &best[i]
				cand := nd.score + here
				if t.start < 0 || cand > t.score {
					t.score, t.start, t.id = cand, int32(pos), id
				}
				if i-pos == mblen {
					single = true
				}
			}
			if i >= n {
				break
			}
			node = tr.child(node, word[i])
		}
		if !single {
			t := &best[pos+mblen]
			cand := unkScore + here
			if t.start < 0 || cand > t.score {
				t.score, t.start, t.id = cand, int32(pos), u.unkID
			}
		}
		pos += mblen
	}
	// Backtrack, fusing runs of unknown pieces (fuse_unk).
	rev := ws.rev[:0]
	for end := n; end > 0; {
		nd := best[end]
		st := int(nd.start)
		if st < 0 || st >= end { // unreachable with a valid unk; stay safe
			st = 0
		}
		if u.hasUnk && nd.id == u.unkID && len(rev) > 0 && rev[len(rev)-1].raw && rev[len(rev)-1].id == u.unkID && rev[len(rev)-1].s == end {
			rev[len(rev)-1].s = st
		} else {
			rev = append(rev, piece{id: nd.id, s: st, e: end, raw: u.hasUnk && nd.id == u.unkID})
		}
		end = st
	}
	ws.rev = rev
	for i := len(rev) - 1; i >= 0; i-- {
		p := rev[i]
		if !p.raw {
			out = append(out, p)
			continue
		}
		if id, ok := u.ids[string(word[p.s:p.e])]; ok {
			out = append(out, piece{id: id, s: p.s, e: p.e})
			continue
		}
		if u.byteFallback {
			okAll := true
			for _, b := range word[p.s:p.e] {
				if _, ok := u.ids[byteToPiece(b)]; !ok {
					okAll = false
					break
				}
			}
			if okAll {
				for _, b := range word[p.s:p.e] {
					out = append(out, piece{id: u.ids[byteToPiece(b)], s: p.s, e: p.e})
				}
				continue
			}
		}
		out = append(out, p)
	}
	return out
}

func byteToPiece(b byte) string { return fmt.Sprintf("<0x%02X>", b) }

// byteTrie is a static trie over the bytes of the vocabulary pieces, used
// for SentencePiece's common-prefix search. Nodes are numbered breadth-first
// so that a node's children are consecutive; nodes with many children also
// get a direct 256-entry table. Each node stores its piece's score, so the
// Viterbi inner loop touches one node per byte.
type byteTrie struct {
	root   [256]int32 // child of the root per byte, or -1
	nodes  []trieNode
	labels []byte  // label of the edge into each node
	dense  []int32 // 256 children per dense node
}

type trieNode struct {
	score float64
	id    int32 // piece id or -1
	fc    int32 // first child
	nc    int32 // number of children
	dense int32 // offset into dense, or -1
}

// denseMin is the child count from which a node gets a direct table.
const denseMin = 8

func buildByteTrie(ids map[string]int32, scores []float64) *byteTrie {
	keys := make([]string, 0, len(ids))
	for k := range ids {
		if k != "" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	type tmpNode struct {
		id       int32
		children map[byte]int32
	}
	tmp := []tmpNode{{id: -1}}
	for _, k := range keys {
		cur := int32(0)
		for i := 0; i < len(k); i++ {
			if tmp[cur].children == nil {
				tmp[cur].children = make(map[byte]int32, 2)
			}
			nx, ok := tmp[cur].children[k[i]]
			if !ok {
				nx = int32(len(tmp))
				tmp = append(tmp, tmpNode{id: -1})
				tmp[cur].children[k[i]] = nx
			}
			cur = nx
		}
		tmp[cur].id = ids[k]
	}
	t := &byteTrie{nodes: make([]trieNode, len(tmp)), labels: make([]byte, len(tmp))}
	for i := range t.root {
		t.root[i] = -1
	}
	// Breadth-first renumbering: order[new] = old.
	order := []int32{0}
	newID := make([]int32, len(tmp))
	for q := 0; q < len(order); q++ {
		old := order[q]
		nd := &t.nodes[q]
		nd.id, nd.dense, nd.fc = tmp[old].id, -1, int32(len(order))
		if nd.id >= 0 {
			nd.score = scores[nd.id]
		}
		bs := make([]int, 0, len(tmp[old].children))
		for b := range tmp[old].children {
			bs = append(bs, int(b))
		}
		sort.Ints(bs)
		nd.nc = int32(len(bs))
		for _, b := range bs {
			c := tmp[old].children[byte(b)]
			newID[c] = int32(len(order))
			t.labels[len(order)] = byte(b)
			order = append(order, c)
		}
		if len(bs) >= denseMin {
			nd.dense = int32(len(t.dense))
			for k := 0; k < 256; k++ {
				t.dense = append(t.dense, -1)
			}
			for k, b := range bs {
				t.dense[int(nd.dense)+b] = nd.fc + int32(k)
			}
		}
	}
	for b := 0; b < 256; b++ {
		if c, ok := tmp[0].children[byte(b)]; ok {
			t.root[b] = newID[c]
		}
	}
	return t
}

func (t *byteTrie) child(node int32, c byte) int32 {
	nd := &t.nodes[node]
	if nd.dense >= 0 {
		return t.dense[int(nd.dense)+int(c)]
	}
	for i := nd.fc; i < nd.fc+nd.nc; i++ {
		if t.labels[i] == c {
			return i
		}
	}
	return -1
}
