package model

import (
	"math"
	"os"
	"testing"

	"github.com/openmed/openmed/internal/testutil"
	"github.com/stretchr/testify/require"
)

// sharedDir returns ../shared relative to the repository root (the directory
// holding go.mod), skipping the test when it is absent.
func sharedDir(t testing.TB) string {
	return testutil.SharedDir(t)
}

// jArray is the fixtures' JSON array encoding.
type jArray = testutil.Array

type jInputs struct {
	InputIDs      jArray  `json:"input_ids"`
	AttentionMask jArray  `json:"attention_mask"`
	TokenTypeIDs  *jArray `json:"token_type_ids"`
	Labels        jArray  `json:"labels"`
}

func (in jInputs) batch() *Batch {
	b := &Batch{Batch: in.InputIDs.Shape[0], SeqLen: in.InputIDs.Shape[1], InputIDs: in.InputIDs.I32(), AttentionMask: in.AttentionMask.F32()}
	if in.TokenTypeIDs != nil {
		b.TokenTypeIDs = in.TokenTypeIDs.I32()
	}
	return b
}

type caseFile struct {
	Inputs  jInputs `json:"inputs"`
	Outputs struct {
		Logits          jArray   `json:"logits"`
		LastHiddenState jArray   `json:"last_hidden_state"`
		Loss            float64  `json:"loss"`
		HiddenStates    []jArray `json:"hidden_states"`
		Attentions      []jArray `json:"attentions"`
		MaskedLogits    jArray   `json:"masked_logits"`
	} `json:"outputs"`
	MaskedPositions [][2]int `json:"masked_positions"`
}

func readJSON(t testing.TB, path string, v any) { testutil.ReadJSON(t, path, v) }

func maxAbsDiff(t testing.TB, want []float64, got []float32) float64 {
	return testutil.MaxAbsDiff(t, want, got)
}

// refCrossEntropy is torch's CrossEntropyLoss(ignore_index=-100,
// label_smoothing=eps, reduction="mean") in float64, with dL/dlogits.
func refCrossEntropy(logits []float32, c int, labels []int32, eps float64) (float64, []float32) {
	n := len(labels)
	grad := make([]float32, len(logits))
	var loss float64
	count := 0
	for i := 0; i < n; i++ {
		if labels[i] != -100 {
			count++
		}
	}
	for i := 0; i < n; i++ {
		y := labels[i]
		if y == -100 {
			continue
		}
		row := logits[i*c : (i+1)*c]
		mx := math.Inf(-1)
		for _, v := range row {
			mx = math.Max(mx, float64(v))
		}
		var s float64
		for _, v := range row {
			s += math.Exp(float64(v) - mx)
		}
		lse := mx + math.Log(s)
		var meanNLL float64
		for j, v := range row {
			p := math.Exp(float64(v) - lse)
			meanNLL += lse - float64(v)
			target := eps / float64(c)
			if int32(j) == y {
				target += 1 - eps
			}
			grad[i*c+j] = float32((p - target) / float64(count))
		}
		loss += (1-eps)*(lse-float64(row[y])) + eps*meanNLL/float64(c)
	}
	return loss / float64(count), grad
}

func linkOrSkip(t testing.TB, src, dst string) {
	t.Helper()
	require.NoError(t, os.Symlink(src, dst))
}

func sqrt(x float64) float64 { return math.Sqrt(x) }
