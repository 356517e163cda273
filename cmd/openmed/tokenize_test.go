package main

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func runTokenizeCmd(t *testing.T, input string, args ...string) string {
	t.Helper()
	out, _, err := runCmd(newTokenizeCmd(), input, args...)
	require.NoError(t, err)
	return out
}

// TestTokenizeCommandMatchesReference feeds the tricky texts (one per line)
// through `openmed tokenize` for a folder (vocab.txt path via tokenizer.json)
// and an spm folder, and compares each output line with HF's reference.
func TestTokenizeCommandMatchesReference(t *testing.T) {
	shared := sharedPath(t, "tokenizers")
	for _, name := range []string{"pubmedbert-abstract", "deberta-v3"} {
		f, err := os.Open(filepath.Join(shared, "ref", name, "tricky.jsonl.gz"))
		require.NoError(t, err)
		zr, err := gzip.NewReader(f)
		require.NoError(t, err)
		type ref struct {
			Text    string   `json:"text"`
			IDs     []int32  `json:"ids"`
			Tokens  []string `json:"tokens"`
			Offsets [][2]int `json:"offsets"`
			WordIDs []*int   `json:"word_ids"`
		}
		var refs []ref
		var input strings.Builder
		sc := bufio.NewScanner(zr)
		sc.Buffer(make([]byte, 1<<20), 1<<24)
		for sc.Scan() {
			var r ref
			require.NoError(t, json.Unmarshal(sc.Bytes(), &r))
			if strings.ContainsAny(r.Text, "\n") {
				continue
			}
			refs = append(refs, r)
			input.WriteString(r.Text + "\n")
		}
		f.Close()
		require.Greater(t, len(refs), 400)
		out := runTokenizeCmd(t, input.String(), "--tokenizer", filepath.Join(shared, name))
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		require.Len(t, lines, len(refs))
		for i, l := range lines {
			require.True(t, strings.HasPrefix(l, `{"ids":[`), "line %d: %s", i, l)
			var got ref
			require.NoError(t, json.Unmarshal([]byte(l), &got))
			got.Text = refs[i].Text
			require.Equal(t, refs[i], got, "%s line %d %q", name, i, refs[i].Text)
		}
	}
}

func TestTokenizeCommandWords(t *testing.T) {
	shared := sharedPath(t, "tokenizers")
	out := runTokenizeCmd(t, "BRCA1  mutations\n\n", "--words", "--tokenizer", filepath.Join(shared, "pubmedbert-abstract", "vocab.txt"))
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	require.Len(t, lines, 2)
	var got struct {
		Tokens  []string `json:"tokens"`
		Offsets [][2]int `json:"offsets"`
		WordIDs []*int   `json:"word_ids"`
	}
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &got))
	require.Equal(t, "[CLS]", got.Tokens[0])
	require.Equal(t, "[SEP]", got.Tokens[len(got.Tokens)-1])
	require.Nil(t, got.WordIDs[0])
	last := got.WordIDs[len(got.WordIDs)-2]
	require.NotNil(t, last)
	require.Equal(t, 1, *last, "two words")
	// Offsets are relative to their word: word 1's first token starts at 0.
	first := -1
	for i, w := range got.WordIDs {
		if w != nil && *w == 1 {
			first = i
			break
		}
	}
	require.Positive(t, first)
	require.Equal(t, 0, got.Offsets[first][0])
	require.Equal(t, `{"ids":[2,3],"tokens":["[CLS]","[SEP]"],"offsets":[[0,0],[0,0]],"word_ids":[null,null]}`, lines[1])
	cmd := newTokenizeCmd()
	cmd.SetArgs([]string{"--tokenizer", filepath.Join(shared, "nope")})
	cmd.SetIn(strings.NewReader("x\n"))
	require.Error(t, cmd.Execute())
}
