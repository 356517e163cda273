package tokenize

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestEncodeWords checks the is_split_into_words contract on corpus
// sentences: tokens are those of each word encoded alone (HF encodes every
// word separately and merges), word ids index the input words, offsets are
// relative to each word, and — for these space-joined CoNLL sentences — the
// ids equal those of encoding the joined text.
func TestEncodeWords(t *testing.T) {
	shared := sharedDir(t)
	texts := readTexts(t, filepath.Join(shared, "tokenizers", "ref", "texts_corpus.jsonl"))[:1500]
	for _, name := range []string{"pubmedbert-abstract", "bert-base-cased", "deberta-v3"} {
		tk := loadShared(t, shared, name)
		for _, text := range texts {
			words := strings.Split(text, " ")
			we, err := tk.EncodeWords(words)
			require.NoError(t, err)
			je, err := tk.Encode(text)
			require.NoError(t, err)
			require.Equal(t, je.IDs, we.IDs, "%s: %q", name, text)
			k := 1 // after [CLS]
			for wi, w := range words {
				one, err := tk.Encode(w, WithoutSpecialTokens())
				require.NoError(t, err)
				for j := range one.IDs {
					require.Equal(t, one.IDs[j], we.IDs[k])
					require.Equal(t, wi, we.WordIDs[k])
					require.Equal(t, one.Offsets[j], we.Offsets[k])
					require.Equal(t, one.CharOffsets[j], we.CharOffsets[k])
					require.Equal(t, w[we.Offsets[k].Start:we.Offsets[k].End], w[one.Offsets[j].Start:one.Offsets[j].End])
					k++
				}
			}
			require.Equal(t, we.Len()-1, k)
		}
	}
}

func TestPairTruncationPadding(t *testing.T) {
	shared := sharedDir(t)
	tk := loadShared(t, shared, "bert-base-uncased")
	e, err := tk.EncodePair("the Gene", "breast cancer")
	require.NoError(t, err)
	require.Equal(t, []string{"[CLS]", "the", "gene", "[SEP]", "breast", "cancer", "[SEP]"}, e.Tokens)
	require.Equal(t, []int32{0, 0, 0, 0, 1, 1, 1}, e.TypeIDs)
	require.Equal(t, []int{-1, 0, 0, -1, 1, 1, -1}, e.SequenceIDs)
	require.Equal(t, []int{-1, 0, 1, -1, 0, 1, -1}, e.WordIDs)
	require.Equal(t, Offset{0, 6}, e.Offsets[4], "second-sequence offsets are relative to its own text")

	e, err = tk.Encode("the gene causes breast cancer", WithTruncation(4))
	require.NoError(t, err)
	require.Equal(t, []string{"[CLS]", "the", "gene", "[SEP]"}, e.Tokens)
	e, err = tk.Encode("the gene", WithPadding(6))
	require.NoError(t, err)
	require.Equal(t, []string{"[CLS]", "the", "gene", "[SEP]", "[PAD]", "[PAD]"}, e.Tokens)
	require.Equal(t, []int32{1, 1, 1, 1, 0, 0}, e.AttentionMask)
	require.Equal(t, []int32{1, 0, 0, 1, 1, 1}, e.SpecialTokensMask)
	require.Equal(t, []int32{101, 100, 102, 103, 0}, []int32{tk.Special().CLS, tk.Special().UNK, tk.Special().SEP, tk.Special().MASK, tk.Special().PAD})
	_, err = tk.Encode("x", WithTruncation(1))
	require.Error(t, err)
	e, err = tk.Encode("The gene", WithoutSpecialTokens())
	require.NoError(t, err)
	require.Equal(t, []string{"the", "gene"}, e.Tokens)
	_, err = tk.Encode("bad \xff utf-8")
	require.Error(t, err)
}

func TestVocabAndSpecials(t *testing.T) {
	shared := sharedDir(t)
	pm := loadShared(t, shared, "pubmedbert-abstract")
	require.Equal(t, ModelWordPiece, pm.Model())
	require.Equal(t, 28895, pm.VocabSize())
	require.Equal(t, SpecialTokens{CLS: 2, SEP: 3, PAD: 0, MASK: 4, UNK: 1}, pm.Special())
	id, ok := pm.TokenToID("##ation")
	require.True(t, ok)
	tok, ok := pm.IDToToken(id)
	require.True(t, ok)
	require.Equal(t, "##ation", tok)
	_, ok = pm.TokenToID(`"`)
	require.False(t, ok, "PubMedBERT has no straight double quote")
	e, err := pm.Encode(`the "BRCA1" gene`)
	require.NoError(t, err)
	require.Contains(t, e.IDs, pm.Special().UNK)

	db := loadShared(t, shared, "deberta-v3")
	require.Equal(t, ModelUnigram, db.Model())
	require.Equal(t, 128001, db.VocabSize(), "128,000 pieces + [MASK]")
	require.Equal(t, SpecialTokens{CLS: 1, SEP: 2, PAD: 0, MASK: 128000, UNK: 3}, db.Special())
	tok, ok = db.IDToToken(128000)
	require.True(t, ok)
	require.Equal(t, "[MASK]", tok)
	e, err = db.Encode("the [MASK] gene")
	require.NoError(t, err)
	require.Equal(t, []string{"[CLS]", "▁the", "[MASK]", "▁gene", "[SEP]"}, e.Tokens)
	require.Equal(t, []int{-1, 0, 1, 2, -1}, e.WordIDs)
}

func TestEncodeBatchOrderAndWorkers(t *testing.T) {
	shared := sharedDir(t)
	tk := loadShared(t, shared, "deberta-v3")
	texts := readTexts(t, filepath.Join(shared, "tokenizers", "ref", "texts_tricky.jsonl"))
	one, err := tk.EncodeBatch(texts, WithWorkers(1))
	require.NoError(t, err)
	many, err := tk.EncodeBatch(texts, WithWorkers(7))
	require.NoError(t, err)
	require.Equal(t, one, many)
	for i, text := range texts {
		e, err := tk.Encode(text)
		require.NoError(t, err)
		require.Equal(t, e, one[i], "input order")
	}
	_, err = tk.EncodeBatch([]string{"ok", "\xff"})
	require.ErrorContains(t, err, "input 1")
}

func TestLoadResolvesFolders(t *testing.T) {
	shared := sharedDir(t)
	tk, err := Load(filepath.Join(shared, "tokenizers", "deberta-v3"))
	require.NoError(t, err)
	require.Equal(t, ModelUnigram, tk.Model())
	// A folder with only vocab.txt + tokenizer_config.json uses BertConverter.
	dir := t.TempDir()
	for _, f := range []string{"vocab.txt", "tokenizer_config.json"} {
		b, err := os.ReadFile(filepath.Join(shared, "tokenizers", "bert-base-cased", f))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, f), b, 0o644))
	}
	tk, err = Load(dir)
	require.NoError(t, err)
	e, err := tk.Encode("BRCA1 Gene")
	require.NoError(t, err)
	require.Contains(t, e.Tokens, "Gene", "cased: do_lower_case false from tokenizer_config.json")
	_, err = Load(t.TempDir())
	require.ErrorContains(t, err, "tokenizer.json")
}
