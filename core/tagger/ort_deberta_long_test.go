package tagger

import (
	"encoding/json"
	"math"
	"math/rand"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/openmed/openmed/internal/testutil"
)

// ortDebertaReference is an independent torch (float32) implementation of
// DebertaV2ForTokenClassification's forward as the fixtures' README §7 states
// it (transformers 4.36), reading pytorch_model.bin. argv: model dir, then a
// JSON list of [input_ids, attention_mask] batches; prints a JSON list of
// flattened logits.
const ortDebertaReference = `
import sys, json, math, torch
torch.set_num_threads(1)
root = sys.argv[1]
sd = torch.load(root + "/pytorch_model.bin", map_location="cpu")
cfg = json.load(open(root + "/config.json"))
H, D = cfg["num_attention_heads"], cfg["hidden_size"]
d, eps = D // H, cfg["layer_norm_eps"]
span = cfg["position_buckets"]
maxrel = cfg["max_relative_positions"]
if maxrel < 1:
    maxrel = cfg["max_position_embeddings"]
ln = lambda x, p: torch.nn.functional.layer_norm(x, (x.shape[-1],), sd[p + ".weight"], sd[p + ".bias"], eps)
lin = lambda x, p: x @ sd[p + ".weight"].T + sd[p + ".bias"]

def bucket(rel):
    sign = torch.sign(rel)
    mid = span // 2
    abs_pos = torch.where((rel < mid) & (rel > -mid), torch.tensor(mid - 1).type_as(rel), torch.abs(rel))
    log_pos = torch.ceil(torch.log(abs_pos / mid) / torch.log(torch.tensor((maxrel - 1) / mid)) * (mid - 1)) + mid
    return torch.where(abs_pos <= mid, rel.type_as(log_pos), log_pos * sign).to(torch.long)

def forward(ids, mask):
    ids, m = torch.tensor(ids), torch.tensor(mask).float()
    B, L = ids.shape
    x = ln(sd["deberta.embeddings.word_embeddings.weight"][ids], "deberta.embeddings.LayerNorm") * m[:, :, None]
    R = ln(sd["deberta.encoder.rel_embeddings.weight"], "deberta.encoder.LayerNorm")[: 2 * span]
    r = bucket(torch.arange(L)[:, None] - torch.arange(L)[None, :])
    c2p = torch.clamp(r + span, 0, 2 * span - 1).expand(B, H, L, L)
    p2c = torch.clamp(-r + span, 0, 2 * span - 1).expand(B, H, L, L)
    M = (m[:, None, :, None] * m[:, None, None, :]).bool()
    scale = torch.sqrt(torch.tensor(d, dtype=torch.float) * 3)
    for l in range(cfg["num_hidden_layers"]):
        p = "deberta.encoder.layer.%d." % l
        heads = lambda t: t.view(B, L, H, d).permute(0, 2, 1, 3)
        q = heads(lin(x, p + "attention.self.query_proj"))
        k = heads(lin(x, p + "attention.self.key_proj"))
        v = heads(lin(x, p + "attention.self.value_proj"))
        S = q @ (k.transpose(-1, -2) / scale)
        Pk = lin(R, p + "attention.self.key_proj").view(2 * span, H, d).permute(1, 0, 2)
        Pq = lin(R, p + "attention.self.query_proj").view(2 * span, H, d).permute(1, 0, 2)
        c = torch.gather(q @ Pk.transpose(-1, -2), -1, c2p)
        pc = torch.gather(k @ Pq.transpose(-1, -2), -1, p2c).transpose(-1, -2)
        S = S + (c / scale + pc / scale)
        P = torch.softmax(S.masked_fill(~M, torch.finfo(torch.float32).min), -1).masked_fill(~M, 0)
        ctx = (P @ v).permute(0, 2, 1, 3).reshape(B, L, D)
        a = ln(lin(ctx, p + "attention.output.dense") + x, p + "attention.output.LayerNorm")
        h = torch.nn.functional.gelu(lin(a, p + "intermediate.dense"))
        x = ln(lin(h, p + "output.dense") + a, p + "output.LayerNorm")
    return lin(x, "classifier").flatten().tolist()

print(json.dumps([forward(ids, mask) for ids, mask in json.loads(sys.argv[2])]))
`

// TestORTDebertaLongSequence runs the DeBERTa-v3 export on sequences longer
// than max_relative_positions (64 in the fixture), where the graph clips the
// relative distance before its bucket lookup, and compares with the torch
// reference above, itself first checked against the HF fixture logits.
func TestORTDebertaLongSequence(t *testing.T) {
	ortRequire(t)
	dir, c := ortExportFixture(t, "deberta_v3")
	fx := filepath.Join(ortSharedDir(t), "fixtures", "deberta_v3")

	rng := rand.New(rand.NewSource(3))
	const L = 150
	long, longMask := make([][]int64, 2), make([][]int64, 2)
	for i := range long {
		long[i], longMask[i] = make([]int64, L), make([]int64, L)
		for j := range long[i] {
			long[i][j], longMask[i][j] = int64(5+rng.Intn(120)), 1
		}
	}
	for j := 120; j < L; j++ { // second row padded
		long[1][j], longMask[1][j] = 0, 0
	}
	batches := [][2][][]int64{
		{c.Inputs.InputIDs.rows(t), c.Inputs.AttentionMask.rows(t)},
		{long, longMask},
	}
	arg, err := json.Marshal(batches)
	require.NoError(t, err)
	out := testutil.RunTorch(t, "reference", "-c", ortDebertaReference, fx, string(arg))
	var ref [][]float64
	require.NoError(t, json.Unmarshal(out, &ref))
	require.Len(t, ref, 2)

	maxDiff := func(a []float64, b []float32) float64 {
		require.Equal(t, len(a), len(b))
		m := 0.0
		for i := range a {
			m = math.Max(m, math.Abs(a[i]-float64(b[i])))
		}
		return m
	}
	// The reference reproduces HF on the fixture...
	want := make([]float32, len(c.Outputs.Logits.Data))
	for i, v := range c.Outputs.Logits.Data {
		want[i] = float32(v)
	}
	// HF parity bar (DEVELOPERS.md): ~25× the √K·u·|logit| drift of two float32 sum orders at 12 tokens.
	assert.LessOrEqual(t, maxDiff(ref[0], want), 1e-4, "torch reference vs HF fixture")

	// ...and the ONNX graph reproduces the reference at length 150.
	be, err := NewORT(dir, ORTOptions{IntraOpThreads: 1})
	require.NoError(t, err)
	defer be.Close()
	got, err := be.Logits(long, longMask, nil)
	require.NoError(t, err)
	require.Equal(t, []int{2, L, 5}, got.Shape)
	diff := maxDiff(ref[1], got.Data)
	t.Logf("L=%d: max |ORT − torch reference| = %.3g", L, diff)
	// HF parity bar: ~18× the √K·u·|logit| ≈ 5e-6 drift of two float32 sum orders at 150 tokens (K ≈ 920).
	assert.LessOrEqual(t, diff, 1e-4)
}
