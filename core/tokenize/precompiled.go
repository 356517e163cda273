package tokenize

import (
	"encoding/binary"
	"fmt"
	"unicode/utf8"

	"github.com/rivo/uniseg"
)

// precompiled is SentencePiece's precompiled_charsmap normalizer (nmt_nfkc
// for DeBERTa-v3): a Darts double-array trie over UTF-8 bytes whose leaf
// values index NUL-terminated replacement strings in a blob
// (sentencepiece normalizer.cc; HF's spm_precompiled crate). HF applies it
// per extended grapheme cluster (clusters < 6 bytes looked up whole, else
// char by char); the alignments follow tokenizers 0.23 (see emitNorm).
type precompiled struct {
	units []uint32
	blob  []byte
	ascii [128]struct {
		rep []byte
		ok  bool
	}
}

func newPrecompiled(charsmap []byte) (*precompiled, error) {
	if len(charsmap) < 4 {
		return nil, fmt.Errorf("precompiled_charsmap: %d bytes, need at least 4", len(charsmap))
	}
	size := binary.LittleEndian.Uint32(charsmap)
	if uint64(size) > uint64(len(charsmap)-4) {
		return nil, fmt.Errorf("precompiled_charsmap: trie size %d exceeds the %d bytes available", size, len(charsmap)-4)
	}
	n := int(size / 4)
	p := &precompiled{units: make([]uint32, n)}
	for i := 0; i < n; i++ {
		p.units[i] = binary.LittleEndian.Uint32(charsmap[4+4*i:])
	}
	p.blob = charsmap[4+4*n:]
	if !utf8.Valid(p.blob) {
		return nil, fmt.Errorf("precompiled_charsmap: normalized blob is not valid UTF-8")
	}
	if len(p.units) == 0 {
		return nil, fmt.Errorf("precompiled_charsmap: empty trie")
	}
	for c := 0; c < 128; c++ {
		rep, ok := p.transform([]byte{byte(c)})
		p.ascii[c].rep, p.ascii[c].ok = rep, ok
	}
	return p, nil
}

func unitLabel(u uint32) uint32  { return u & ((1 << 31) | 0xFF) }
func unitValue(u uint32) uint32  { return u & ((1 << 31) - 1) }
func unitLeaf(u uint32) bool     { return (u>>8)&1 == 1 }
func unitOffset(u uint32) uint32 { return (u >> 10) << ((u & (1 << 9)) >> 6) }

// firstPrefixValue returns the value of the shortest key that is a prefix of
// key (the first result of Darts' commonPrefixSearch).
func (p *precompiled) firstPrefixValue(key []byte) (uint32, bool) {
	pos := unitOffset(p.units[0])
	for _, c := range key {
		if c == 0 {
			break
		}
		pos ^= uint32(c)
		if int(pos) >= len(p.units) {
			return 0, false
		}
		u := p.units[pos]
		if unitLabel(u) != uint32(c) {
			return 0, false
		}
		pos ^= unitOffset(u)
		if unitLeaf(u) {
			if int(pos) >= len(p.units) {
				return 0, false
			}
			return unitValue(p.units[pos]), true
		}
	}
	return 0, false
}

// transform is spm_precompiled's Precompiled::transform.
func (p *precompiled) transform(chunk []byte) ([]byte, bool) {
	v, ok := p.firstPrefixValue(chunk)
	if !ok || int(v) > len(p.blob) {
		return nil, false
	}
	end := int(v)
	for end < len(p.blob) && p.blob[end] != 0 {
		end++
	}
	return p.blob[v:end], true
}

// normalize rewrites n per grapheme. Like tokenizers 0.23 it records one
// (char, change) transformation per output char: the i-th char of a
// replacement replaces the unit's i-th old char (0) while old chars remain,
// further chars are insertions (+1), and old chars left over are removed by
// lowering the change of the last recorded transformation (so an empty
// replacement folds its removal into the previous char, and is dropped when
// nothing precedes it). The list is then applied with HF's transform rules.
func (p *precompiled) normalize(n *normalized) {
	s := n.norm
	var tr []change
	started := false
	// begin switches to recording at byte i: everything before is unchanged.
	begin := func(i int) {
		if started {
			return
		}
		started = true
		tr = n.changes[:0]
		for _, r := range string(s[:i]) {
			tr = append(tr, change{r, 0})
		}
	}
	replace := func(old, rep []byte, at int) {
		begin(at)
		oldCount := utf8.RuneCount(old)
		k := 0
		for _, r := range string(rep) {
			if k < oldCount {
				tr = append(tr, change{r, 0})
			} else {
				tr = append(tr, change{r, 1})
			}
			k++
		}
		if removed := oldCount - k; removed > 0 && len(tr) > 0 {
			tr[len(tr)-1].c -= removed
		}
	}
	keep := func(r rune) {
		if started {
			tr = append(tr, change{r, 0})
		}
	}
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf && (i+1 == len(s) || (s[i+1] < utf8.RuneSelf && !(c == '\r' && s[i+1] == '\n'))) {
			if e := &p.ascii[c]; e.ok {
				replace(s[i:i+1], e.rep, i)
			} else {
				keep(rune(c))
			}
			i++
			continue
		}
		g, _, _, _ := uniseg.FirstGraphemeCluster(s[i:], -1)
		if len(g) == 0 {
			g = s[i : i+1]
		}
		if len(g) < 6 {
			if rep, ok := p.transform(g); ok {
				replace(g, rep, i)
				i += len(g)
				continue
			}
		}
		for j := 0; j < len(g); {
			r, sz := utf8.DecodeRune(g[j:])
			if rep, ok := p.transform(g[j : j+sz]); ok {
				replace(g[j:j+sz], rep, i+j)
			} else {
				keep(r)
			}
			j += sz
		}
		i += len(g)
	}
	if started {
		n.changes = tr
		n.transformRange(0, len(n.norm), tr, 0)
	}
}
