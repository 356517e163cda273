package onnx

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/openmed/openmed/core/checkpoint"
	"github.com/openmed/openmed/internal/testutil"
)

// TestLogBucketPositionMatchesFixture compares the bucket function with HF's
// build_relative_position table stored in the DeBERTa fixture (L=12,
// position_buckets 8, max_relative_positions 64).
func TestLogBucketPositionMatchesFixture(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(sharedDir(t), "fixtures", "deberta_v3", "case.json"))
	require.NoError(t, err)
	var c struct {
		Outputs struct {
			Buckets struct {
				Shape []int     `json:"shape"`
				Data  []float64 `json:"data"`
			} `json:"relative_position_buckets"`
		} `json:"outputs"`
	}
	require.NoError(t, json.Unmarshal(raw, &c))
	require.Equal(t, []int{12, 12}, c.Outputs.Buckets.Shape)
	for i := 0; i < 12; i++ {
		for j := 0; j < 12; j++ {
			assert.EqualValues(t, c.Outputs.Buckets.Data[i*12+j], LogBucketPosition(i-j, 8, 64), "r[%d][%d]", i, j)
		}
	}
}

// TestLogBucketPositionMatchesTorch evaluates transformers'
// make_log_bucket_position formula with torch (Debian python3-torch) in
// float32 for the real DeBERTa-v3 setting (256 buckets, 512 positions) and
// the fixture's, over distances beyond the maximum.
func TestLogBucketPositionMatchesTorch(t *testing.T) {
	const script = `
import sys, torch
for case in sys.argv[1:]:
    b, m, n = (int(v) for v in case.split(","))
    rel = torch.arange(-n, n + 1)
    sign = torch.sign(rel)
    mid = b // 2
    abs_pos = torch.where((rel < mid) & (rel > -mid), torch.tensor(mid - 1).type_as(rel), torch.abs(rel))
    log_pos = torch.ceil(torch.log(abs_pos / mid) / torch.log(torch.tensor((m - 1) / mid)) * (mid - 1)) + mid
    bucket = torch.where(abs_pos <= mid, rel.type_as(log_pos), log_pos * sign).to(torch.long)
    print(" ".join(str(int(v)) for v in bucket))
`
	cases := []struct{ buckets, maxPos, n int }{{256, 512, 1500}, {8, 64, 200}, {32, 128, 400}}
	args := []string{"-c", script}
	for _, c := range cases {
		args = append(args, fmt.Sprintf("%d,%d,%d", c.buckets, c.maxPos, c.n))
	}
	out := testutil.RunTorch(t, "torch bucket script", args...)
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	require.Len(t, lines, len(cases))
	for k, tc := range cases {
		fields := strings.Fields(lines[k])
		require.Len(t, fields, 2*tc.n+1)
		for i, f := range fields {
			want, err := strconv.Atoi(f)
			require.NoError(t, err)
			x := i - tc.n
			require.Equal(t, want, LogBucketPosition(x, tc.buckets, tc.maxPos), "buckets %d maxpos %d x=%d", tc.buckets, tc.maxPos, x)
		}
	}
	assert.Equal(t, 9, LogBucketPosition(9, 0, 64), "no buckets: identity")
}

// TestRelIndexTablesSaturate checks the clipping argument relIndexTables
// relies on: at the table edge the c2p/p2c indices are already at their
// clamp limits, so clipping longer distances changes nothing.
func TestRelIndexTablesSaturate(t *testing.T) {
	for _, r := range []debertaRel{{buckets: 8, maxRel: 64, span: 8}, {buckets: 256, maxRel: 512, span: 256}, {buckets: 0, maxRel: 16, span: 16}} {
		c2p, p2c, half := r.relIndexTables()
		last := int64(2*r.span - 1)
		assert.Equal(t, last, c2p[2*half], "c2p at +T")
		assert.Equal(t, int64(0), c2p[0], "c2p at −T")
		assert.Equal(t, int64(0), p2c[2*half], "p2c at +T")
		assert.Equal(t, last, p2c[0], "p2c at −T")
		assert.Equal(t, int64(r.span), c2p[half], "d=0 → span")
		// Beyond T the formula gives the same clamped indices.
		for _, d := range []int{half + 1, half + 1000} {
			bkt := LogBucketPosition(d, r.buckets, r.maxRel)
			assert.GreaterOrEqual(t, bkt, r.span, "bucket(%d)", d)
		}
	}
}

func TestDebertaConfigErrors(t *testing.T) {
	cfg, w := fixtureConfig(t, "deberta_v3")
	f := false
	tr := true
	for name, mutate := range map[string]func(c *checkpoint.Config){
		"relative_attention=false":   func(c *checkpoint.Config) { c.RelativeAttention = false },
		"share_att_key=false":        func(c *checkpoint.Config) { c.ShareAttKey = false },
		"position_biased_input=true": func(c *checkpoint.Config) { c.PositionBiasedInput = &tr },
		`pos_att_type "p2p"`:         func(c *checkpoint.Config) { c.PosAttType = []string{"p2p"} },
	} {
		c := *cfg
		c.PositionBiasedInput = &f
		mutate(&c)
		_, err := BuildTokenClassifier(&c, w)
		assert.ErrorContains(t, err, name)
	}
	// rel_embeddings too small for the configured span.
	c := *cfg
	c.PositionBuckets = 64
	_, err := BuildTokenClassifier(&c, w)
	assert.ErrorContains(t, err, "deberta.encoder.rel_embeddings.weight (shape [16 32]")
}
