package tagger

import (
	"context"
	"strings"
	"testing"

	"github.com/openmed/openmed/core/corpus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const rawConll = "-DOCSTART-\tO\n\nFamilial\tB-Disease\npolyposis\tI-Disease\n.\tO\n\nBRCA1\tO\ncarriers\tO\nwith\tO\nbreast\tB-Disease\ncancer\tI-Disease\n\n" +
	"-DOCSTART-\tO\n\nRenal\tB-Disease\nfailure\tI-Disease\n\n"

func TestRawTextsJoinSentencesWithinDocuments(t *testing.T) {
	c, err := corpus.Read(strings.NewReader(rawConll), "t.tsv")
	require.NoError(t, err)
	units, err := rawTexts(c, 1)
	require.NoError(t, err)
	require.Len(t, units, 3)
	assert.Equal(t, "Familial polyposis .", units[0].text)
	assert.Equal(t, []charSpan{{"Disease", 0, 18}}, units[0].gold)
	para, err := rawTexts(c, 10)
	require.NoError(t, err)
	require.Len(t, para, 2, "paragraphs never cross -DOCSTART-")
	assert.Equal(t, "Familial polyposis . BRCA1 carriers with breast cancer", para[0].text)
	assert.Equal(t, []charSpan{{"Disease", 0, 18}, {"Disease", 41, 54}}, para[0].gold)
	assert.Equal(t, "breast cancer", para[0].text[41:54])
}

func TestScoreRawExactSpans(t *testing.T) {
	c, err := corpus.Read(strings.NewReader(rawConll), "t.tsv")
	require.NoError(t, err)
	units, err := rawTexts(c, 10)
	require.NoError(t, err)
	pred := [][]Entity{
		{{Label: "Disease", Start: 0, End: 18}, {Label: "Disease", Start: 48, End: 54}, {Label: "Disease", Start: 0, End: 18}},
		{{Label: "Chemical", Start: 0, End: 13}, {Label: "Disease", Start: 2, End: 13}},
	}
	r := scoreRaw(units, pred)
	assert.Equal(t, 3, r.Gold)
	assert.Equal(t, 4, r.Predicted, "a duplicate prediction counts once")
	assert.Equal(t, 1, r.Correct, "a partial span and a wrong type do not count")
	assert.Equal(t, 1, r.InsideWord, "[2,13) starts inside 'Renal'")
	assert.InDelta(t, 0.25, r.Precision, 1e-12)
	assert.InDelta(t, 1.0/3, r.Recall, 1e-12)
	assert.InDelta(t, 2*0.25/3/(0.25+1.0/3), r.F1, 1e-12)
}

// On a real tagger the evaluation runs end to end and, with the default
// (first) aggregation, no entity starts or ends inside a word.
func TestEvaluateRawTextFirstAggregationWholeWords(t *testing.T) {
	tg, err := Open(tinyBERT(t, tinyLabels, 1), WithBackend(BackendEngine))
	require.NoError(t, err)
	defer tg.Close()
	c := ncbiCorpus(t, 30)
	r, err := EvaluateRawText(context.Background(), tg, c, RawTextOptions{Paragraph: 10})
	require.NoError(t, err)
	assert.Equal(t, 3, r.Texts)
	assert.Greater(t, r.Gold, 0)
	assert.Greater(t, r.Predicted, 0, "the random tiny model predicts something")
	assert.Zero(t, r.InsideWord)
	simple, err := Open(tinyBERT(t, tinyLabels, 1), WithBackend(BackendEngine), WithAggregation(AggregationSimple))
	require.NoError(t, err)
	defer simple.Close()
	rs, err := EvaluateRawText(context.Background(), simple, c, RawTextOptions{Paragraph: 10})
	require.NoError(t, err)
	assert.Greater(t, rs.InsideWord, 0, "simple aggregation reports pieces of words")
}
