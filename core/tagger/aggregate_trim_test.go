package tagger

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestTrimSpaceNarrowsToTheWords(t *testing.T) {
	text := "a\u00a0 ätiology  x"
	// NBSP+" ätiology  " spans bytes 1..15 (NBSP and ä are 2 bytes each), code points 1..13.
	sb, eb, sc, ec := trimSpace(text, 1, 15, 1, 13)
	assert.Equal(t, "ätiology", text[sb:eb])
	assert.Equal(t, []int{4, 13, 3, 11}, []int{sb, eb, sc, ec})
	assert.Equal(t, "ätiology", string([]rune(text)[sc:ec]))
	// All white space collapses to an empty span without crossing.
	sb, eb, sc, ec = trimSpace("   ", 0, 3, 0, 3)
	assert.Equal(t, sb, eb)
	assert.Equal(t, sc, ec)
}
