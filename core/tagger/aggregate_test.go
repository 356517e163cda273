package tagger

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/openmed/openmed/core/tokenize"
)

// peak is a score vector over tinyLabels with p at label k and the rest
// shared equally.
func peak(k int, p float32) []float32 {
	s := make([]float32, len(tinyLabels))
	for i := range s {
		s[i] = (1 - p) / float32(len(s)-1)
	}
	s[k] = p
	return s
}

// aggDoc is "Famotidine causes renal failure in ☃ mice" with the real
// PubMedBERT tokenizer — [CLS] fam ##otid ##ine causes renal failure in
// [UNK] mice [SEP] — and hand-set scores.
func aggDoc(t *testing.T) *docScores {
	tok, err := tokenize.Load(filepath.Join(ortSharedDir(t), "tokenizers", "pubmedbert-abstract"))
	require.NoError(t, err)
	text := "Famotidine causes renal failure in ☃ mice"
	enc, err := tok.Encode(text)
	require.NoError(t, err)
	require.Equal(t, []string{"[CLS]", "fam", "##otid", "##ine", "causes", "renal", "failure", "in", "[UNK]", "mice", "[SEP]"}, enc.Tokens)
	const O, BD, ID, BC, IC = 0, 1, 2, 3, 4
	return &docScores{text: text, enc: enc, labels: tinyLabels, unkID: tok.Special().UNK, scores: [][]float32{
		nil, peak(BC, 0.9), peak(ID, 0.6), peak(IC, 0.95), peak(O, 0.8), peak(BD, 0.7), peak(ID, 0.9), peak(O, 0.95), peak(BD, 0.5), peak(ID, 0.6), nil,
	}}
}

type want struct {
	label      string
	score      float32
	text       string
	start, end int
}

func checkEnts(t *testing.T, ws []want, got []Entity) {
	t.Helper()
	require.Len(t, got, len(ws), "%+v", got)
	for i, w := range ws {
		assert.Equal(t, w.label, got[i].Label, "entity %d", i)
		assert.InDelta(t, w.score, got[i].Score, 1e-6, "entity %d", i)
		assert.Equal(t, w.text, got[i].Text, "entity %d", i)
		assert.Equal(t, [2]int{w.start, w.end}, [2]int{got[i].Start, got[i].End}, "entity %d (code points)", i)
	}
}

// TestAggregationStrategies follows HF TokenClassificationPipeline: simple
// groups consecutive same-type tokens unless the next is B-; first / max /
// average decide per word (sub-tokens sharing a word id) and then group;
// group scores are means; "O" groups are dropped by ignore_labels; [UNK] is
// its own word; offsets are code points (☃ is 3 bytes).
func TestAggregationStrategies(t *testing.T) {
	d := aggDoc(t)
	ign := []string{"O"}

	none := d.aggregate(AggregationNone, nil, 0)
	require.Len(t, none, 9)
	assert.Equal(t, "I-Disease", none[1].Label)
	assert.Equal(t, 2, none[1].Index)
	assert.Equal(t, "otid", none[1].Text)

	checkEnts(t, []want{
		{"Chemical", 0.9, "Fam", 0, 3}, {"Disease", 0.6, "otid", 3, 7}, {"Chemical", 0.95, "ine", 7, 10},
		{"Disease", 0.8, "renal failure", 18, 31}, {"Disease", 0.55, "☃ mice", 35, 41},
	}, d.aggregate(AggregationSimple, ign, 0))

	checkEnts(t, []want{
		{"Chemical", 0.9, "Famotidine", 0, 10}, {"Disease", 0.8, "renal failure", 18, 31}, {"Disease", 0.55, "☃ mice", 35, 41},
	}, d.aggregate(AggregationFirst, ign, 0))

	checkEnts(t, []want{
		{"Chemical", 0.95, "Famotidine", 0, 10}, {"Disease", 0.8, "renal failure", 18, 31}, {"Disease", 0.55, "☃ mice", 35, 41},
	}, d.aggregate(AggregationMax, ign, 0))

	// average of the three vectors: I-Chemical (0.025+0.1+0.95)/3.
	checkEnts(t, []want{
		{"Chemical", (0.025 + 0.1 + 0.95) / 3, "Famotidine", 0, 10}, {"Disease", 0.8, "renal failure", 18, 31}, {"Disease", 0.55, "☃ mice", 35, 41},
	}, d.aggregate(AggregationAverage, ign, 0))

	// Threshold drops the 0.55 group; ignore_labels [] keeps "O" groups.
	checkEnts(t, []want{{"Chemical", 0.9, "Famotidine", 0, 10}, {"Disease", 0.8, "renal failure", 18, 31}},
		d.aggregate(AggregationFirst, ign, 0.6))
	all := d.aggregate(AggregationFirst, nil, 0)
	require.Len(t, all, 5)
	assert.Equal(t, "O", all[1].Label)
	assert.Equal(t, "causes", all[1].Text)
	mice := all[4]
	assert.Equal(t, [2]int{35, 43}, [2]int{mice.StartByte, mice.EndByte})

	words := d.words()
	require.Len(t, words, 7)
	tags := []string{}
	for _, w := range words {
		tags = append(tags, w.Tag)
	}
	assert.Equal(t, []string{"B-Chemical", "O", "B-Disease", "I-Disease", "O", "B-Disease", "I-Disease"}, tags)
}

func TestParseAggregation(t *testing.T) {
	for a := AggregationNone; a <= AggregationMax; a++ {
		got, err := ParseAggregation(a.String())
		require.NoError(t, err)
		assert.Equal(t, a, got)
	}
	_, err := ParseAggregation("mean")
	assert.ErrorContains(t, err, "mean")
}
