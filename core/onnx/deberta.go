package onnx

import (
	"fmt"
	"math"
	"strings"

	"github.com/openmed/openmed/core/checkpoint"
	"github.com/openmed/openmed/core/tensor"
)

// debertaRel are the relative-attention settings of DebertaV2Config as
// DisentangledSelfAttention / DebertaV2Encoder read them (transformers
// modeling_deberta_v2.py, v4.36).
type debertaRel struct {
	buckets  int  // position_buckets (≤ 0: no log buckets)
	maxRel   int  // max_relative_positions (< 1 → max_position_embeddings)
	span     int  // pos_ebd_size: buckets if > 0 else maxRel
	c2p, p2c bool // pos_att_type
	normRel  bool // norm_rel_ebd contains "layer_norm"
}

func debertaRelFrom(cfg *checkpoint.Config) (debertaRel, error) {
	r := debertaRel{buckets: cfg.PositionBuckets, maxRel: cfg.MaxRelativePositions}
	if !cfg.RelativeAttention {
		return r, fmt.Errorf("onnx: config.json relative_attention=false: DeBERTa export needs relative attention (DeBERTa-v3)")
	}
	if cfg.UsesPositionBiasedInput() {
		return r, fmt.Errorf("onnx: config.json position_biased_input=true is not supported by the DeBERTa export (DeBERTa-v3 uses false)")
	}
	if !cfg.ShareAttKey {
		return r, fmt.Errorf("onnx: config.json share_att_key=false is not supported by the DeBERTa export (DeBERTa-v3 uses true)")
	}
	if raw := cfg.Raw("conv_kernel_size"); raw != nil && strings.TrimSpace(string(raw)) != "0" && string(raw) != "null" {
		return r, fmt.Errorf("onnx: config.json conv_kernel_size %s: DeBERTa's ConvLayer is not supported", raw)
	}
	if raw := cfg.Raw("attention_head_size"); raw != nil && strings.TrimSpace(string(raw)) != fmt.Sprint(cfg.HiddenSize/max(cfg.NumAttentionHeads, 1)) {
		return r, fmt.Errorf("onnx: config.json attention_head_size %s ≠ hidden_size/num_attention_heads is not supported", raw)
	}
	for _, t := range cfg.PosAttType {
		switch t {
		case "c2p":
			r.c2p = true
		case "p2c":
			r.p2c = true
		default:
			return r, fmt.Errorf("onnx: config.json pos_att_type %q: only c2p and p2c are supported", t)
		}
	}
	if r.maxRel < 1 {
		r.maxRel = cfg.MaxPositionEmbeddings
	}
	r.span = r.maxRel
	if r.buckets > 0 {
		r.span = r.buckets
	}
	if r.span <= 0 {
		return r, fmt.Errorf("onnx: config.json position_buckets %d / max_relative_positions %d give no relative span", cfg.PositionBuckets, cfg.MaxRelativePositions)
	}
	r.normRel = strings.Contains(cfg.NormRelEbd, "layer_norm")
	return r, nil
}

// scaleFactor is 1 + the number of positional attention terms.
func (r debertaRel) scaleFactor() int {
	f := 1
	if r.c2p {
		f++
	}
	if r.p2c {
		f++
	}
	return f
}

// LogBucketPosition is make_log_bucket_position of transformers'
// modeling_deberta_v2.py for one relative distance x, evaluated with torch's
// float32 steps: |x| ≤ mid stays x, larger distances map to
// sign(x)·(ceil(ln(|x|/mid) / ln((maxPos−1)/mid) · (mid−1)) + mid), mid = buckets/2.
// With buckets ≤ 0 or maxPos ≤ 0 (build_relative_position's guard) it is x.
func LogBucketPosition(x, buckets, maxPos int) int {
	if buckets <= 0 || maxPos <= 0 {
		return x
	}
	mid := buckets / 2
	abs := x
	if abs < 0 {
		abs = -abs
	}
	if x < mid && x > -mid {
		abs = mid - 1
	}
	if abs <= mid {
		return x
	}
	num := float32(math.Log(float64(float32(abs) / float32(mid))))
	den := float32(math.Log(float64(float32(float64(maxPos-1) / float64(mid)))))
	logPos := float32(math.Ceil(float64(num/den*float32(mid-1)))) + float32(mid)
	if x < 0 {
		return -int(logPos)
	}
	return int(logPos)
}

// relIndexTables returns, for relative distances d = i−j in [−T, T] stored at
// d+T, the c2p gather index clamp(r(d)+span, 0, 2span−1) and the p2c index
// clamp(−r(d)+span, 0, 2span−1), r = LogBucketPosition. Beyond |d| = T both
// saturate (r(T) ≥ span), so the graph clips d to ±T and any length works.
func (r debertaRel) relIndexTables() (c2p, p2c []int64, half int) {
	half = max(r.maxRel, r.span)
	clamp := func(v int) int64 { return int64(min(max(v, 0), 2*r.span-1)) }
	c2p = make([]int64, 2*half+1)
	p2c = make([]int64, 2*half+1)
	for d := -half; d <= half; d++ {
		b := LogBucketPosition(d, r.buckets, r.maxRel)
		c2p[d+half] = clamp(b + r.span)
		p2c[d+half] = clamp(-b + r.span)
	}
	return c2p, p2c, half
}

// buildDebertaV2 builds DebertaV2ForTokenClassification (DeBERTa-v3:
// relative attention with log buckets, share_att_key, c2p/p2c, no absolute
// positions), following the fixtures' README §7:
//
//	e = LN(E_word[ids] (+E_type[tt]) (·embed_proj)) · mask
//	R = LN_enc(rel_embeddings)
//	S = q·(kᵀ/s) + gather(q·Pkᵀ, c2p)/s + gather(k·Pqᵀ, p2c)ᵀ/s,  s = √(d·(1+|pos_att_type|))
//	P = XSoftmax(S, mask_i·mask_j)  (masked entries −∞, then zeroed: padded query rows are 0)
//
// then BERT's SelfOutput / Intermediate / Output and the classifier.
func buildDebertaV2(cfg *checkpoint.Config, d bertDims, state map[string]*tensor.Tensor) (*Builder, error) {
	rel, err := debertaRelFrom(cfg)
	if err != nil {
		return nil, err
	}
	w := &weights{m: state}
	b := NewBuilder("deberta_token_classification")
	ids, mask, types := tokenInputs(b, d)

	// Embeddings (DebertaV2Embeddings).
	b.SetScope("/deberta/embeddings")
	p := "deberta.embeddings."
	maskF := b.Cast(mask, Float)
	x := b.Gather(b.Weight(p+"word_embeddings.weight", w.get(p+"word_embeddings.weight", d.vocab, d.emb)), ids, 0)
	if types != "" {
		x = b.Add(x, b.Gather(b.Weight(p+"token_type_embeddings.weight", w.get(p+"token_type_embeddings.weight", d.types, d.emb)), types, 0))
	}
	if d.emb != d.hidden {
		x = b.MatMul(x, b.WeightTransposed(p+"embed_proj.weight", w.get(p+"embed_proj.weight", d.hidden, d.emb)))
	}
	x = layerNorm(b, w, p+"LayerNorm", x, d.hidden, d.eps)
	x = b.Mul(x, b.Unsqueeze(maskF, 2))

	// Encoder-level tensors shared by every layer.
	b.SetScope("/deberta/encoder")
	relW := w.get("deberta.encoder.rel_embeddings.weight")
	if relW != nil && (len(relW.Shape) != 2 || relW.Shape[0] < 2*rel.span || relW.Shape[1] != d.hidden) {
		w.missing = append(w.missing, fmt.Sprintf("deberta.encoder.rel_embeddings.weight (shape %v, config wants [≥%d %d])", relW.Shape, 2*rel.span, d.hidden))
		relW = nil
	}
	if relW != nil && relW.Shape[0] > 2*rel.span { // rel_embeddings[0 : 2·span]
		relW = &tensor.Tensor{Shape: []int{2 * rel.span, d.hidden}, Data: relW.Data[:2*rel.span*d.hidden]}
	}
	relE := b.Weight("deberta.encoder.rel_embeddings.weight", relW)
	if rel.normRel {
		relE = layerNorm(b, w, "deberta.encoder.LayerNorm", relE, d.hidden, d.eps)
	}
	// XSoftmax mask M[b,1,i,j] = m_i·m_j ≠ 0.
	pair := b.Mul(b.Unsqueeze(maskF, 1, 3), b.Unsqueeze(maskF, 1, 2))
	keep := b.Cast(pair, Bool)
	// Relative-position gather indices for d = i − j, clipped to the tables.
	c2pTab, p2cTab, half := rel.relIndexTables()
	pos := b.Range(b.ScalarInt64(0), b.Dim(ids, 1), b.ScalarInt64(1))
	dist := b.Sub(b.Unsqueeze(pos, 1), b.Unsqueeze(pos, 0))
	at := b.Add(b.Op("Clip", []string{dist, b.ScalarInt64(int64(-half)), b.ScalarInt64(int64(half))}), b.ScalarInt64(int64(half)))
	var c2pIdx, p2cIdx string
	if rel.c2p {
		c2pIdx = b.Gather(b.ConstInt64(c2pTab, int64(len(c2pTab))), at, 0)
	}
	if rel.p2c {
		p2cIdx = b.Gather(b.ConstInt64(p2cTab, int64(len(p2cTab))), at, 0)
	}

	scale := b.ScalarFloat(float32(math.Sqrt(float64(d.headDim * rel.scaleFactor()))))
	for l := 0; l < d.layers; l++ {
		x = debertaLayer(b, w, d, rel, l, x, relE, keep, c2pIdx, p2cIdx, scale)
	}
	return finishClassifier(b, w, d, string(cfg.ModelType), x)
}

// debertaLayer is DebertaV2Layer: DisentangledSelfAttention, then the BERT tail.
func debertaLayer(b *Builder, w *weights, d bertDims, rel debertaRel, l int, x, relE, keep, c2pIdx, p2cIdx, scale string) string {
	p := fmt.Sprintf("deberta.encoder.layer.%d.", l)
	scope := fmt.Sprintf("/deberta/encoder/layer.%d", l)
	nh, hd := int64(d.heads), int64(d.headDim)
	b.SetScope(scope + "/attention/self")

	// Projections; the query/key Linear weights are shared with the
	// positional projections (share_att_key), so each is added once.
	proj := map[string][2]string{}
	for _, name := range []string{"query_proj", "key_proj", "value_proj"} {
		k := p + "attention.self." + name
		proj[name] = [2]string{
			b.WeightTransposed(k+".weight", w.get(k+".weight", d.hidden, d.hidden)),
			b.Weight(k+".bias", w.get(k+".bias", d.hidden)),
		}
	}
	heads := func(name, in string, perm ...int64) string {
		y := b.Linear(in, proj[name][0], proj[name][1])
		return b.Transpose(b.Reshape(y, 0, 0, nh, hd), perm...)
	}
	q := heads("query_proj", x, 0, 2, 1, 3) // [B,H,L,d]
	k := heads("key_proj", x, 0, 2, 1, 3)   // [B,H,L,d]
	v := heads("value_proj", x, 0, 2, 1, 3) // [B,H,L,d]
	scores := b.MatMul(q, b.Div(b.Transpose(k, 0, 1, 3, 2), scale))
	full := b.Shape(scores) // [B,H,L,L]
	// Positional keys/queries from the relative embeddings: [2span,hidden] → [H,d,2span].
	posT := func(name string) string {
		y := b.Linear(relE, proj[name][0], proj[name][1])
		return b.Transpose(b.Reshape(y, int64(2*rel.span), nh, hd), 1, 2, 0)
	}
	var bias string
	if rel.c2p {
		att := b.MatMul(q, posT("key_proj")) // [B,H,L,2span]
		c2p := b.Op("GatherElements", []string{att, b.Op("Expand", []string{c2pIdx, full})}, IntAttr("axis", 3))
		bias = b.Div(c2p, scale)
	}
	if rel.p2c {
		att := b.MatMul(k, posT("query_proj")) // [B,H,L(key),2span]
		p2c := b.Op("GatherElements", []string{att, b.Op("Expand", []string{p2cIdx, full})}, IntAttr("axis", 3))
		p2c = b.Div(b.Transpose(p2c, 0, 1, 3, 2), scale)
		if bias == "" {
			bias = p2c
		} else {
			bias = b.Add(bias, p2c)
		}
	}
	if bias != "" {
		scores = b.Add(scores, bias)
	}
	// XSoftmax: fill masked entries with finfo.min, softmax, zero them again.
	probs := b.Softmax(b.Op("Where", []string{keep, scores, b.ScalarFloat(maskFill)}), -1)
	probs = b.Op("Where", []string{keep, probs, b.ScalarFloat(0)})
	ctx := b.Reshape(b.Transpose(b.MatMul(probs, v), 0, 2, 1, 3), 0, 0, int64(d.hidden))
	return layerTail(b, w, d, p, scope, ctx, x)
}
