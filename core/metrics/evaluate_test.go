package metrics

import (
	"strings"
	"testing"

	"github.com/openmed/openmed/core/scheme"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func seqs(lines ...string) [][]string {
	out := make([][]string, len(lines))
	for i, l := range lines {
		out[i] = strings.Fields(l)
	}
	return out
}

const eps = 1e-12

func assertScores(t *testing.T, want, got Scores, what string) {
	t.Helper()
	assert.InDelta(t, want.Precision, got.Precision, eps, what+" precision")
	assert.InDelta(t, want.Recall, got.Recall, eps, what+" recall")
	assert.InDelta(t, want.F1, got.F1, eps, what+" f1")
	assert.Equal(t, want.Support, got.Support, what+" support")
}

// seqeval's docstring example (classification_report, f1_score,
// accuracy_score): MISC is predicted one token too early, PER is right.
func TestSeqevalDocstringExample(t *testing.T) {
	gold := seqs("O O O B-MISC I-MISC I-MISC O", "B-PER I-PER O")
	pred := seqs("O O B-MISC I-MISC I-MISC I-MISC O", "B-PER I-PER O")
	for _, mode := range []scheme.Mode{scheme.Default, scheme.Strict} {
		r, err := Evaluate(gold, pred, WithMode(mode))
		require.NoError(t, err)
		assertScores(t, Scores{Precision: 0.5, Recall: 0.5, F1: 0.5, Support: 2}, r.Micro, "micro")
		assertScores(t, Scores{Precision: 0.5, Recall: 0.5, F1: 0.5, Support: 2}, r.Macro, "macro")
		assertScores(t, Scores{Precision: 0.5, Recall: 0.5, F1: 0.5, Support: 2}, r.Weighted, "weighted")
		assertScores(t, Scores{Support: 1}, r.PerType["MISC"], "MISC")
		assertScores(t, Scores{Precision: 1, Recall: 1, F1: 1, Support: 1}, r.PerType["PER"], "PER")
		assert.InDelta(t, 0.8, r.TokenAccuracy, eps)
		want := "" +
			"              precision    recall  f1-score   support\n" +
			"\n" +
			"        MISC       0.00      0.00      0.00         1\n" +
			"         PER       1.00      1.00      1.00         1\n" +
			"\n" +
			"   micro avg       0.50      0.50      0.50         2\n" +
			"   macro avg       0.50      0.50      0.50         2\n" +
			"weighted avg       0.50      0.50      0.50         2\n"
		assert.Equal(t, want, r.Text(2))
	}
}

// seqeval README: an I-X after O starts an entity in default mode (conlleval)
// but not in strict IOB2 mode.
func TestIAfterODefaultVersusStrict(t *testing.T) {
	gold := seqs("B-NP I-NP O")
	pred := seqs("I-NP I-NP O")
	def, err := Evaluate(gold, pred)
	require.NoError(t, err)
	assertScores(t, Scores{Precision: 1, Recall: 1, F1: 1, Support: 1}, def.PerType["NP"], "default NP")
	strict, err := Evaluate(gold, pred, WithMode(scheme.Strict), WithScheme(scheme.IOB2))
	require.NoError(t, err)
	assertScores(t, Scores{Support: 1}, strict.PerType["NP"], "strict NP")
	assert.Equal(t, 0, strict.Micro.Predicted)
}

// seqeval README: IOBES and BILOU are supported only in strict mode. Default
// mode decodes E/S leniently, so a B-I chunk missing its E still counts;
// strict IOBES drops it; strict IOB2 rejects E/S tags (seqeval raises).
func TestIOBESOnlyInStrict(t *testing.T) {
	gold := seqs("B-X E-X O S-Y")
	pred := seqs("B-X I-X O S-Y")
	def, err := Evaluate(gold, pred)
	require.NoError(t, err)
	assertScores(t, Scores{Precision: 1, Recall: 1, F1: 1, Support: 2}, def.Micro, "default micro")

	strict, err := Evaluate(gold, pred, WithMode(scheme.Strict), WithScheme(scheme.IOBES))
	require.NoError(t, err)
	// X is lost (B I O has no IOBES end), Y is right: TP 1, pred 1, gold 2.
	assertScores(t, Scores{Precision: 1, Recall: 0.5, F1: 2.0 / 3, Support: 2}, strict.Micro, "strict micro")
	assertScores(t, Scores{Support: 1}, strict.PerType["X"], "strict X")

	_, err = Evaluate(gold, pred, WithMode(scheme.Strict), WithScheme(scheme.IOB2))
	assert.ErrorContains(t, err, "gold sentence 1 token 2: tag \"E-X\" is not allowed in strict IOB2")
}

// Hand-computed averages over two types with unequal support:
// gold A[0,2) A[3,4) B[5,6) | A[0,1); pred A[0,2) A[3,5) | A[0,1) B[2,3).
// A: tp 2, pred 3, gold 3 -> P=R=F=2/3. B: tp 0, pred 1, gold 1 -> 0.
// micro: tp 2/pred 4/gold 4 -> 0.5; macro: (2/3+0)/2 = 1/3;
// weighted: (3*2/3 + 1*0)/4 = 0.5; tokens: 6 of 9 right.
func TestAverages(t *testing.T) {
	gold := seqs("B-A I-A O B-A O B-B", "B-A O O")
	pred := seqs("B-A I-A O B-A I-A O", "B-A O B-B")
	r, err := Evaluate(gold, pred)
	require.NoError(t, err)
	assert.Equal(t, []string{"A", "B"}, r.Types)
	assertScores(t, Scores{Precision: 2.0 / 3, Recall: 2.0 / 3, F1: 2.0 / 3, Support: 3}, r.PerType["A"], "A")
	assertScores(t, Scores{Support: 1}, r.PerType["B"], "B")
	assertScores(t, Scores{Precision: 0.5, Recall: 0.5, F1: 0.5, Support: 4}, r.Micro, "micro")
	assertScores(t, Scores{Precision: 1.0 / 3, Recall: 1.0 / 3, F1: 1.0 / 3, Support: 4}, r.Macro, "macro")
	assertScores(t, Scores{Precision: 0.5, Recall: 0.5, F1: 0.5, Support: 4}, r.Weighted, "weighted")
	assert.Equal(t, 4, r.Micro.Predicted)
	assert.Equal(t, 2, r.Micro.Correct)
	assert.InDelta(t, 6.0/9, r.TokenAccuracy, eps)
	assert.Equal(t, 9, r.Tokens)
}

// A type seen only in predictions gets a row with support 0 and precision,
// recall and F1 0 (zero_division "warn" -> 0); it lowers macro but not
// weighted averages.
func TestPredictedOnlyTypeAndZeroDivision(t *testing.T) {
	r, err := Evaluate(seqs("B-A O"), seqs("B-A B-B"))
	require.NoError(t, err)
	assertScores(t, Scores{Support: 0}, r.PerType["B"], "B")
	assertScores(t, Scores{Precision: 0.5, Recall: 1, F1: 2.0 / 3, Support: 1}, r.Micro, "micro")
	assertScores(t, Scores{Precision: 0.5, Recall: 0.5, F1: 0.5, Support: 1}, r.Macro, "macro")
	assertScores(t, Scores{Precision: 1, Recall: 1, F1: 1, Support: 1}, r.Weighted, "weighted")

	// No gold entities: every average is 0 (weighted: all weights are 0).
	r, err = Evaluate(seqs("O O"), seqs("B-A O"))
	require.NoError(t, err)
	assertScores(t, Scores{}, r.Micro, "micro")
	assertScores(t, Scores{}, r.Macro, "macro")
	assertScores(t, Scores{}, r.Weighted, "weighted")

	// Nothing at all.
	r, err = Evaluate(seqs("O"), seqs("O"))
	require.NoError(t, err)
	assert.Empty(t, r.Types)
	assertScores(t, Scores{}, r.Micro, "micro")
	assert.InDelta(t, 1.0, r.TokenAccuracy, eps)
}

func TestSentenceBoundariesSplitEntities(t *testing.T) {
	// seqeval flattens sentences with an O between them: the I-X opening
	// sentence 2 is a new entity, not a continuation of sentence 1's B-X.
	gold := seqs("O B-X", "I-X O")
	r, err := Evaluate(gold, gold)
	require.NoError(t, err)
	assert.Equal(t, 2, r.Micro.Support)
}

func TestUntypedTags(t *testing.T) {
	r, err := Evaluate(seqs("B I O B"), seqs("B I O O"))
	require.NoError(t, err)
	assert.Equal(t, []string{UntypedName}, r.Types)
	assertScores(t, Scores{Precision: 1, Recall: 0.5, F1: 2.0 / 3, Support: 2}, r.Micro, "micro")
}

func TestEvaluateErrors(t *testing.T) {
	_, err := Evaluate(seqs("O", "O"), seqs("O"))
	assert.ErrorContains(t, err, "gold has 2 sentences but pred has 1")
	_, err = Evaluate(seqs("O O"), seqs("O"))
	assert.ErrorContains(t, err, "sentence 1: gold has 2 tokens but pred has 1")
	_, err = Evaluate(seqs("O"), seqs("B_X"))
	assert.ErrorContains(t, err, "pred sentence 1 token 1: invalid tag \"B_X\"")
	_, err = Evaluate(seqs("O"), seqs("O"), WithScheme(scheme.Scheme(42)))
	assert.Error(t, err)
}
