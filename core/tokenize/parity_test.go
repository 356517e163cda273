package tokenize

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// diffRef compares an Encoding with a reference line and describes the first
// difference, or returns "".
func diffRef(r refEncoding, e *Encoding) string {
	if len(e.IDs) != len(r.IDs) {
		return fmt.Sprintf("length: want %d tokens %q, got %d %q", len(r.IDs), r.Tokens, len(e.IDs), e.Tokens)
	}
	for i := range r.IDs {
		w := -1
		if r.WordIDs[i] != nil {
			w = *r.WordIDs[i]
		}
		switch {
		case e.IDs[i] != r.IDs[i]:
			return fmt.Sprintf("token %d id: want %d (%q), got %d (%q); want tokens %q got %q", i, r.IDs[i], r.Tokens[i], e.IDs[i], e.Tokens[i], r.Tokens, e.Tokens)
		case e.Tokens[i] != r.Tokens[i]:
			return fmt.Sprintf("token %d string: want %q, got %q", i, r.Tokens[i], e.Tokens[i])
		case e.CharOffsets[i] != (Offset{r.Offsets[i][0], r.Offsets[i][1]}):
			return fmt.Sprintf("token %d (%q) char offsets: want %v, got %v; all want %v", i, r.Tokens[i], r.Offsets[i], e.CharOffsets[i], r.Offsets)
		case e.Offsets[i] != (Offset{r.ByteOffsets[i][0], r.ByteOffsets[i][1]}):
			return fmt.Sprintf("token %d (%q) byte offsets: want %v, got %v", i, r.Tokens[i], r.ByteOffsets[i], e.Offsets[i])
		case e.WordIDs[i] != w:
			return fmt.Sprintf("token %d (%q) word id: want %d, got %d", i, r.Tokens[i], w, e.WordIDs[i])
		case e.SpecialTokensMask[i] != r.Special[i]:
			return fmt.Sprintf("token %d (%q) special mask: want %d, got %d", i, r.Tokens[i], r.Special[i], e.SpecialTokensMask[i])
		}
	}
	return ""
}

// TestParityWithHFReference walks every reference encoding of the six
// tokenizers (corpus + tricky) and requires identical ids, tokens, code-point
// and byte offsets, word ids and special-token masks.
func TestParityWithHFReference(t *testing.T) {
	shared := sharedDir(t)
	for _, name := range refTokenizers {
		t.Run(name, func(t *testing.T) {
			tk := loadShared(t, shared, name)
			for _, set := range []string{"corpus", "tricky"} {
				refs := readRef(t, filepath.Join(shared, "tokenizers", "ref", name, set+".jsonl.gz"))
				require.NotEmpty(t, refs)
				texts := make([]string, len(refs))
				for i, r := range refs {
					texts[i] = r.Text
				}
				encs, err := tk.EncodeBatch(texts)
				require.NoError(t, err)
				bad, first := 0, ""
				for i, r := range refs {
					if d := diffRef(r, encs[i]); d != "" {
						if bad < 5 {
							first += fmt.Sprintf("\n  %s #%d (id %d) text %q: %s", set, i, r.ID, r.Text, d)
						}
						bad++
					}
				}
				require.Zerof(t, bad, "%s/%s: %d of %d encodings differ; first:%s", name, set, bad, len(refs), first)
			}
		})
	}
}

// TestLegacyFilesMatchTokenizerJSON checks that building the tokenizer from
// vocab.txt / spm.model (+ tokenizer_config.json) gives the same encodings
// as the tokenizer.json transformers' converters wrote, on all corpus and
// tricky texts.
func TestLegacyFilesMatchTokenizerJSON(t *testing.T) {
	shared := sharedDir(t)
	texts := append(readTexts(t, filepath.Join(shared, "tokenizers", "ref", "texts_corpus.jsonl")),
		readTexts(t, filepath.Join(shared, "tokenizers", "ref", "texts_tricky.jsonl"))...)
	require.Greater(t, len(texts), 9000)
	for _, c := range []struct{ dir, legacy string }{
		{"pubmedbert-abstract", "vocab.txt"},
		{"bert-base-uncased", "vocab.txt"},
		{"bert-base-cased", "vocab.txt"},
		{"biobert-v1.1", "vocab.txt"},
		{"deberta-v3", "spm.model"},
	} {
		t.Run(c.dir, func(t *testing.T) {
			dir := filepath.Join(shared, "tokenizers", c.dir)
			want := loadShared(t, shared, c.dir)
			got, err := Load(filepath.Join(dir, c.legacy))
			require.NoError(t, err)
			require.Equal(t, want.VocabSize(), got.VocabSize())
			require.Equal(t, want.Special(), got.Special())
			require.Equal(t, want.AddedTokens(), got.AddedTokens())
			we, err := want.EncodeBatch(texts)
			require.NoError(t, err)
			ge, err := got.EncodeBatch(texts)
			require.NoError(t, err)
			for i := range texts {
				require.Equal(t, we[i], ge[i], "text %d %q", i, texts[i])
			}
		})
	}
	// AutoTokenizer on a BioBERT folder without tokenizer_config.json uses
	// BertTokenizer's default do_lower_case=True.
	t.Run("biobert-default-lowercase", func(t *testing.T) {
		want := loadShared(t, shared, "biobert-base-cased-v1.x-autotokenizer-lowercase")
		got, err := FromVocab(filepath.Join(shared, "tokenizers", "biobert-v1.1", "vocab.txt"), Options{})
		require.NoError(t, err)
		we, err := want.EncodeBatch(texts)
		require.NoError(t, err)
		ge, err := got.EncodeBatch(texts)
		require.NoError(t, err)
		for i := range texts {
			require.Equal(t, we[i], ge[i], "text %d %q", i, texts[i])
		}
	})
}
