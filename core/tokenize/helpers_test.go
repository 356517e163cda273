package tokenize

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/openmed/openmed/internal/testutil"
	"github.com/stretchr/testify/require"
)

// sharedDir returns ../shared relative to the repository root, or skips.
func sharedDir(t testing.TB) string {
	return testutil.SharedDir(t)
}

// refEncoding is one line of ref/<tokenizer>/{corpus,tricky}.jsonl.gz.
type refEncoding struct {
	ID          int      `json:"id"`
	Text        string   `json:"text"`
	IDs         []int32  `json:"ids"`
	Tokens      []string `json:"tokens"`
	Offsets     [][2]int `json:"offsets"`
	ByteOffsets [][2]int `json:"byte_offsets"`
	WordIDs     []*int   `json:"word_ids"`
	Special     []int32  `json:"special_tokens_mask"`
}

func readRef(t testing.TB, path string) []refEncoding {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	zr, err := gzip.NewReader(f)
	require.NoError(t, err)
	sc := bufio.NewScanner(zr)
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	var out []refEncoding
	for sc.Scan() {
		var r refEncoding
		require.NoError(t, json.Unmarshal(sc.Bytes(), &r), "%s", path)
		out = append(out, r)
	}
	require.NoError(t, sc.Err())
	return out
}

// readTexts reads ref/texts_{corpus,tricky}.jsonl.
func readTexts(t testing.TB, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	var out []string
	for sc.Scan() {
		var r struct {
			Text string `json:"text"`
		}
		require.NoError(t, json.Unmarshal(sc.Bytes(), &r))
		out = append(out, r.Text)
	}
	require.NoError(t, sc.Err())
	return out
}

var refTokenizers = []string{
	"pubmedbert-abstract", "bert-base-uncased", "bert-base-cased", "biobert-v1.1",
	"biobert-base-cased-v1.x-autotokenizer-lowercase", "deberta-v3",
}

var (
	loadedMu sync.Mutex
	loaded   = map[string]*Tokenizer{}
)

// loadShared loads (once per test binary) a reference tokenizer.json.
func loadShared(t testing.TB, shared, name string) *Tokenizer {
	t.Helper()
	loadedMu.Lock()
	defer loadedMu.Unlock()
	if tk, ok := loaded[name]; ok {
		return tk
	}
	tk, err := FromTokenizerJSON(filepath.Join(shared, "tokenizers", name, "tokenizer.json"))
	require.NoError(t, err)
	loaded[name] = tk
	return tk
}
