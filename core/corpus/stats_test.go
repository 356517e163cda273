package corpus_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/openmed/openmed/core/corpus"
	"github.com/openmed/openmed/core/scheme"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type splitStats struct {
	Bytes int64          `json:"bytes"`
	Docs  int            `json:"docs"`
	Ments int            `json:"ments"`
	Sents int            `json:"sents"`
	Toks  int            `json:"toks"`
	Types map[string]int `json:"types"`
}

// TestSharedCorporaMatchStats reads all 30 split files of ../shared/data and
// checks sentence, token, document and mention counts (overall and per type)
// against stats.json. Mentions are counted with seqeval's default decoding.
func TestSharedCorporaMatchStats(t *testing.T) {
	data := filepath.Join(sharedDir(t), "data")
	raw, err := os.ReadFile(filepath.Join(data, "stats.json"))
	require.NoError(t, err)
	var stats map[string]splitStats
	require.NoError(t, json.Unmarshal(raw, &stats))
	require.Len(t, stats, 30)

	keys := make([]string, 0, len(stats))
	for k := range stats {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, key := range keys {
		want := stats[key]
		t.Run(key, func(t *testing.T) {
			path := filepath.Join(data, key+".tsv")
			fi, err := os.Stat(path)
			require.NoError(t, err)
			assert.Equal(t, want.Bytes, fi.Size())

			c, err := corpus.ReadFile(path)
			require.NoError(t, err)
			assert.Equal(t, want.Sents, len(c.Sentences), "sentences")
			assert.Equal(t, want.Toks, c.Tokens(), "tokens")
			assert.Equal(t, want.Docs, c.Docs, "documents")
			if want.Docs > 0 {
				assert.Len(t, c.Documents(), want.Docs, "documents with sentences")
			}
			types := map[string]int{}
			ments := 0
			for _, s := range c.Sentences {
				for _, sp := range scheme.Decode(s.Tags(), scheme.Default, scheme.IOB2) {
					name := sp.Type
					if name == "" {
						name = "(untyped)"
					}
					types[name]++
					ments++
				}
			}
			assert.Equal(t, want.Ments, ments, "mentions")
			assert.Equal(t, want.Types, types, "mentions per type")
		})
	}
}
