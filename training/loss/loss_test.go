package loss

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/openmed/openmed/internal/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func sharedDir(t testing.TB) string {
	return testutil.SharedDir(t)
}

type jt struct {
	Shape []int     `json:"shape"`
	Data  []float64 `json:"data"`
}

type fixtureCase struct {
	Inputs struct {
		Labels jt `json:"labels"`
	} `json:"inputs"`
	Logits  jt      `json:"logits"`
	Loss    float64 `json:"loss"`
	Outputs struct {
		Logits jt      `json:"logits"`
		Loss   float64 `json:"loss"`
	} `json:"outputs"`
	LossFn struct {
		LabelSmoothing float64 `json:"label_smoothing"`
		IgnoreIndex    int     `json:"ignore_index"`
	} `json:"loss_fn"`
}

func readCase(t *testing.T, arch, file string) fixtureCase {
	b, err := os.ReadFile(filepath.Join(sharedDir(t), "fixtures", arch, file))
	require.NoError(t, err)
	var c fixtureCase
	require.NoError(t, json.Unmarshal(b, &c))
	return c
}

func f32(x []float64) []float32 {
	out := make([]float32, len(x))
	for i, v := range x {
		out[i] = float32(v)
	}
	return out
}

func i32(x []float64) []int32 {
	out := make([]int32, len(x))
	for i, v := range x {
		out[i] = int32(v)
	}
	return out
}

func TestCrossEntropyMatchesHFFixtures(t *testing.T) {
	for _, arch := range []string{"bert", "electra", "deberta_v3"} {
		t.Run(arch, func(t *testing.T) {
			lc := readCase(t, arch, "lora.json")
			require.Equal(t, IgnoreIndex, lc.LossFn.IgnoreIndex)
			require.Equal(t, 0.1, lc.LossFn.LabelSmoothing)
			c := lc.Logits.Shape[2]
			n := lc.Logits.Shape[0] * lc.Logits.Shape[1]
			labels := i32(lc.Inputs.Labels.Data)
			got, count, err := CrossEntropyChecked(f32(lc.Logits.Data), n, c, labels, float32(lc.LossFn.LabelSmoothing), nil)
			require.NoError(t, err)
			t.Logf("label-smoothed loss %.9g vs HF %.9g", got, lc.Loss)
			// Same logits in; torch's float32 log-softmax (K = 5) and mean over 24 tokens round ≤ 2·29·u·|loss| ≈ 7e-6.
			assert.InDelta(t, lc.Loss, float64(got), 1e-5, "label-smoothed loss")
			want := 0
			for _, y := range labels {
				if y != IgnoreIndex {
					want++
				}
			}
			assert.Equal(t, want, count)

			cc := readCase(t, arch, "case.json")
			got, _ = CrossEntropy(f32(cc.Outputs.Logits.Data), n, c, i32(cc.Inputs.Labels.Data), 0, nil)
			t.Logf("plain loss %.9g vs HF %.9g", got, cc.Outputs.Loss)
			assert.InDelta(t, cc.Outputs.Loss, float64(got), 1e-5, "plain loss") // as above
			// Smoothing must matter: the smoothed formula differs from the plain one here.
			s, _ := CrossEntropy(f32(cc.Outputs.Logits.Data), n, c, i32(cc.Inputs.Labels.Data), 0.1, nil)
			assert.Greater(t, math.Abs(float64(s-got)), 1e-3)
		})
	}
}

// refLoss is an independent float64 implementation of the formula via log-softmax.
func refLoss(logits []float64, n, c int, labels []int32, eps float64) float64 {
	var total float64
	count := 0
	for i := range n {
		if labels[i] == IgnoreIndex {
			continue
		}
		count++
		row := logits[i*c : (i+1)*c]
		var z float64
		for _, v := range row {
			z += math.Exp(v)
		}
		var smooth float64
		for _, v := range row {
			smooth += -(v - math.Log(z))
		}
		total += (1-eps)*-(row[labels[i]]-math.Log(z)) + eps*smooth/float64(c)
	}
	return total / float64(count)
}

func TestCrossEntropyGradientFiniteDifferences(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	n, c := 7, 5
	for _, eps := range []float32{0, 0.1, 0.3} {
		logits := make([]float64, n*c)
		for i := range logits {
			logits[i] = r.NormFloat64() * 2
		}
		labels := []int32{0, IgnoreIndex, 4, 2, IgnoreIndex, 1, 3}
		d := make([]float32, n*c)
		l, count, err := CrossEntropyChecked(f32(logits), n, c, labels, eps, d)
		require.NoError(t, err)
		require.Equal(t, 5, count)
		assert.InDelta(t, refLoss(logits, n, c, labels, float64(eps)), float64(l), 1e-6)
		const h = 1e-6
		for i := range logits {
			orig := logits[i]
			logits[i] = orig + h
			up := refLoss(logits, n, c, labels, float64(eps))
			logits[i] = orig - h
			down := refLoss(logits, n, c, labels, float64(eps))
			logits[i] = orig
			assert.InDelta(t, (up-down)/(2*h), float64(d[i]), 1e-6, "eps %g d[%d]", eps, i)
		}
		for _, row := range []int{1, 4} {
			for j := range c {
				assert.Zero(t, d[row*c+j], "ignored row %d gets no gradient", row)
			}
		}
	}
}

func TestCrossEntropyEdgeCases(t *testing.T) {
	d := []float32{9, 9}
	l, count := CrossEntropy([]float32{1, 2}, 1, 2, []int32{IgnoreIndex}, 0.1, d)
	assert.Zero(t, l)
	assert.Zero(t, count)
	assert.Equal(t, []float32{0, 0}, d)
	// Large logits stay finite (log-sum-exp with max shift).
	l, _ = CrossEntropy([]float32{1000, -1000}, 1, 2, []int32{1}, 0, nil)
	assert.InDelta(t, 2000, l, 1e-3)
	_, _, err := CrossEntropyChecked([]float32{1, 2}, 1, 2, []int32{2}, 0, nil)
	assert.ErrorContains(t, err, "label 2")
	_, _, err = CrossEntropyChecked([]float32{1, 2}, 1, 3, []int32{0}, 0, nil)
	assert.Error(t, err)
	l, _ = CrossEntropy([]float32{1, 2}, 1, 3, []int32{0}, 0, nil)
	assert.True(t, math.IsNaN(float64(l)))
}
