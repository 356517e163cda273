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
	u.trie = buildByteTrie(u.ids)
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
		u.trie.prefixes(word[pos:], func(length int, id int32) {
			t := &best[pos+length]
			cand := u.scores[id] + here
			if t.start < 0 || cand > t.score {
				t.score, t.start, t.id = cand, int32(pos), id
			}
			if length == mblen {
				single = true
			}
		})
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
// for SentencePiece's common-prefix search.
type byteTrie struct {
	root   [256]int32 // child of the root per byte, or -1
	first  []int32    // per node: first edge index
	count  []int32    // per node: number of edges
	id     []int32    // per node: piece id or -1
	labels []byte
	next   []int32
}

func buildByteTrie(ids map[string]int32) *byteTrie {
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
	nodes := []tmpNode{{id: -1}}
	for _, k := range keys {
		cur := int32(0)
		for i := 0; i < len(k); i++ {
			if nodes[cur].children == nil {
				nodes[cur].children = make(map[byte]int32, 2)
			}
			nx, ok := nodes[cur].children[k[i]]
			if !ok {
				nx = int32(len(nodes))
				nodes = append(nodes, tmpNode{id: -1})
				nodes[cur].children[k[i]] = nx
			}
			cur = nx
		}
		nodes[cur].id = ids[k]
	}
	t := &byteTrie{first: make([]int32, len(nodes)), count: make([]int32, len(nodes)), id: make([]int32, len(nodes))}
	for i := range t.root {
		t.root[i] = -1
	}
	for i, nd := range nodes {
		t.id[i] = nd.id
		t.first[i] = int32(len(t.labels))
		t.count[i] = int32(len(nd.children))
		bs := make([]int, 0, len(nd.children))
		for b := range nd.children {
			bs = append(bs, int(b))
		}
		sort.Ints(bs)
		for _, b := range bs {
			t.labels = append(t.labels, byte(b))
			t.next = append(t.next, nd.children[byte(b)])
			if i == 0 {
				t.root[b] = nd.children[byte(b)]
			}
		}
	}
	return t
}

func (t *byteTrie) child(node int32, c byte) int32 {
	lo, hi := t.first[node], t.first[node]+t.count[node]
	if hi-lo <= 8 {
		for i := lo; i < hi; i++ {
			if t.labels[i] == c {
				return t.next[i]
			}
		}
		return -1
	}
	for lo < hi {
		m := (lo + hi) / 2
		switch l := t.labels[m]; {
		case l == c:
			return t.next[m]
		case l < c:
			lo = m + 1
		default:
			hi = m
		}
	}
	return -1
}

// prefixes calls f for every vocabulary piece that is a prefix of s, shortest
// first.
func (t *byteTrie) prefixes(s []byte, f func(length int, id int32)) {
	if len(s) == 0 {
		return
	}
	node := t.root[s[0]]
	for i := 1; node >= 0; i++ {
		if id := t.id[node]; id >= 0 {
			f(i, id)
		}
		if i >= len(s) {
			return
		}
		node = t.child(node, s[i])
	}
}
