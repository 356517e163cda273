package checkpoint

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/openmed/openmed/core/tensor"
)

// Google's BERT variables (github.com/google-research/bert modeling.py, the
// naming BioBERT and TF-Hub BERT modules keep) and their Hugging Face
// BertForPreTraining names (transformers' load_tf_weights_in_bert
// convention): "/" → ".", layer_N → layer.N, LayerNorm gamma/beta →
// weight/bias, dense "kernel" → "weight" transposed from [in, out] to
// [out, in]. A scope before "bert/" or "cls/" (a TF-Hub module's "module/")
// is dropped; optimizer slots and counters are skipped.

// tfOptimizerSuffixes mark variables of the optimizer or the training loop,
// never weights.
var tfOptimizerSuffixes = []string{"/adam_m", "/adam_v", "/Adam", "/Adam_1", "/Momentum", "/Adagrad", "/RMSProp", "/RMSProp_1", "/ExponentialMovingAverage"}

// tfCounterNames are training-loop counters (global_step, loss scaling).
var tfCounterNames = map[string]bool{"global_step": true, "good_steps": true, "current_loss_scale": true, "bad_steps": true}

// tfBertName is one variable name pattern and its HF name template.
type tfBertName struct {
	re        *regexp.Regexp
	hf        string // "$1" is the layer index
	transpose bool
}

var tfBertNames = func() []tfBertName {
	dense := func(tf, hf string) []tfBertName {
		return []tfBertName{
			{regexp.MustCompile("^" + tf + "/kernel$"), hf + ".weight", true},
			{regexp.MustCompile("^" + tf + "/bias$"), hf + ".bias", false},
		}
	}
	ln := func(tf, hf string) []tfBertName {
		return []tfBertName{
			{regexp.MustCompile("^" + tf + "/LayerNorm/gamma$"), hf + ".LayerNorm.weight", false},
			{regexp.MustCompile("^" + tf + "/LayerNorm/beta$"), hf + ".LayerNorm.bias", false},
		}
	}
	L := `bert/encoder/layer_(\d+)`
	H := "bert.encoder.layer.$1"
	var out []tfBertName
	for _, e := range []string{"word_embeddings", "position_embeddings", "token_type_embeddings"} {
		out = append(out, tfBertName{regexp.MustCompile("^bert/embeddings/" + e + "$"), "bert.embeddings." + e + ".weight", false})
	}
	out = append(out, ln("bert/embeddings", "bert.embeddings")...)
	for _, p := range []string{"query", "key", "value"} {
		out = append(out, dense(L+"/attention/self/"+p, H+".attention.self."+p)...)
	}
	out = append(out, dense(L+"/attention/output/dense", H+".attention.output.dense")...)
	out = append(out, ln(L+"/attention/output", H+".attention.output")...)
	out = append(out, dense(L+"/intermediate/dense", H+".intermediate.dense")...)
	out = append(out, dense(L+"/output/dense", H+".output.dense")...)
	out = append(out, ln(L+"/output", H+".output")...)
	out = append(out, dense("bert/pooler/dense", "bert.pooler.dense")...)
	out = append(out, dense("cls/predictions/transform/dense", "cls.predictions.transform.dense")...)
	out = append(out, ln("cls/predictions/transform", "cls.predictions.transform")...)
	out = append(out,
		tfBertName{regexp.MustCompile("^cls/predictions/output_bias$"), "cls.predictions.bias", false},
		// The NSP head's output_weights are stored [2, hidden] already.
		tfBertName{regexp.MustCompile("^cls/seq_relationship/output_weights$"), "cls.seq_relationship.weight", false},
		tfBertName{regexp.MustCompile("^cls/seq_relationship/output_bias$"), "cls.seq_relationship.bias", false},
	)
	return out
}()

// TFBertHFName maps one TensorFlow BERT variable name to its Hugging Face
// name. skip is true for optimizer slots and counters; ok is false for a
// name that is neither a BERT weight nor skippable.
func TFBertHFName(name string) (hf string, transpose, skip, ok bool) {
	for _, s := range tfOptimizerSuffixes {
		if strings.HasSuffix(name, s) {
			return "", false, true, true
		}
	}
	base := name
	if i := strings.LastIndex(base, "/"); i >= 0 {
		base = base[i+1:]
	}
	if tfCounterNames[base] {
		return "", false, true, true
	}
	short := name
	for _, root := range []string{"bert/", "cls/"} {
		if i := strings.Index(name, root); i >= 0 && (i == 0 || name[i-1] == '/') {
			short = name[i:]
			break
		}
	}
	for _, m := range tfBertNames {
		if sub := m.re.FindStringSubmatch(short); sub != nil {
			hf := m.hf
			if len(sub) > 1 {
				hf = strings.Replace(hf, "$1", sub[1], 1)
			}
			return hf, m.transpose, false, true
		}
	}
	return "", false, false, false
}

// ReadTFBert reads every BERT weight of a bundle under its Hugging Face name
// (kernels transposed), the MLM head (cls/predictions) and NSP head included
// where present. skipped lists the optimizer slots and counters left out.
// A variable that is not part of BERT is an error naming the file and the
// variable, as is a weight that appears twice (two scopes) or fails to read.
func ReadTFBert(b *TFBundle) (weights map[string]*tensor.Tensor, skipped []string, err error) {
	weights = map[string]*tensor.Tensor{}
	from := map[string]string{}
	for _, name := range b.Names() {
		hf, transpose, skip, ok := TFBertHFName(name)
		switch {
		case skip:
			skipped = append(skipped, name)
			continue
		case !ok:
			return nil, nil, fmt.Errorf("%s.index: variable %q is not part of a BERT checkpoint (expected bert/… or cls/… names)", b.Prefix, name)
		}
		if prev, dup := from[hf]; dup {
			return nil, nil, fmt.Errorf("%s.index: variables %q and %q both map to %s", b.Prefix, prev, name, hf)
		}
		t, err := b.Read(name)
		if err != nil {
			return nil, nil, err
		}
		if transpose {
			if len(t.Shape) != 2 {
				return nil, nil, fmt.Errorf("%s.index: variable %q: kernel of shape %v is not 2-D", b.Prefix, name, t.Shape)
			}
			t = tensor.Transposed(t)
		}
		weights[hf], from[hf] = t, name
	}
	return weights, skipped, nil
}

// BertConfigFromWeights infers a BertConfig from the shapes of HF-named
// BERT weights: vocabulary, hidden, FFN, positions and token types from the
// embedding and layer-0 shapes, the layer count from the layer indices. The
// attention head count cannot be read off the weights: heads is used when
// positive, else hidden/64 (every Google BERT release uses 64-wide heads).
// The remaining fields take Google's bert_config.json values (GELU, dropout
// 0.1, LayerNorm ε 1e-12, initializer range 0.02). Every weight the model
// needs must be present with the matching shape; the error names the first
// one missing or misshapen.
func BertConfigFromWeights(w map[string]*tensor.Tensor, heads int) (*Config, error) {
	we, ok := w["bert.embeddings.word_embeddings.weight"]
	if !ok || len(we.Shape) != 2 {
		return nil, fmt.Errorf("no bert.embeddings.word_embeddings.weight of rank 2")
	}
	vocab, hidden := we.Shape[0], we.Shape[1]
	layers := 0
	for k := range w {
		if rest, ok := strings.CutPrefix(k, "bert.encoder.layer."); ok {
			n, err := strconv.Atoi(rest[:strings.IndexByte(rest+".", '.')])
			if err == nil && n+1 > layers {
				layers = n + 1
			}
		}
	}
	if layers == 0 {
		return nil, fmt.Errorf("no encoder layers (bert.encoder.layer.N.*)")
	}
	ffnW, ok := w["bert.encoder.layer.0.intermediate.dense.weight"]
	if !ok || len(ffnW.Shape) != 2 {
		return nil, fmt.Errorf("no bert.encoder.layer.0.intermediate.dense.weight of rank 2")
	}
	pos, ok := w["bert.embeddings.position_embeddings.weight"]
	if !ok || len(pos.Shape) != 2 {
		return nil, fmt.Errorf("no bert.embeddings.position_embeddings.weight of rank 2")
	}
	typ, ok := w["bert.embeddings.token_type_embeddings.weight"]
	if !ok || len(typ.Shape) != 2 {
		return nil, fmt.Errorf("no bert.embeddings.token_type_embeddings.weight of rank 2")
	}
	if heads <= 0 {
		heads = max(1, hidden/64)
	}
	if hidden%heads != 0 {
		return nil, fmt.Errorf("hidden size %d is not a multiple of %d heads", hidden, heads)
	}
	cfg := &Config{
		ModelType: ModelBERT, Architectures: []string{"BertModel"}, VocabSize: vocab, HiddenSize: hidden,
		NumHiddenLayers: layers, NumAttentionHeads: heads, IntermediateSize: ffnW.Shape[0], HiddenAct: ActGELU,
		HiddenDropoutProb: 0.1, AttentionProbsDropoutProb: 0.1, MaxPositionEmbeddings: pos.Shape[0],
		TypeVocabSize: typ.Shape[0], LayerNormEps: 1e-12, InitializerRange: 0.02,
	}
	if _, ok := w["cls.predictions.transform.dense.weight"]; ok {
		cfg.Architectures = []string{"BertForMaskedLM"}
	}
	return cfg, CheckBertShapes(w, cfg)
}

// CheckBertShapes checks that w holds every weight of a BERT encoder of
// shape cfg (HF names, "bert." prefix) with the right shape, and that every
// weight it holds is one BERT has. The error names the first offender;
// names are visited in sorted order so the message is stable.
func CheckBertShapes(w map[string]*tensor.Tensor, cfg *Config) error {
	h, f := cfg.HiddenSize, cfg.IntermediateSize
	want := map[string][]int{
		"bert.embeddings.word_embeddings.weight":       {cfg.VocabSize, h},
		"bert.embeddings.position_embeddings.weight":   {cfg.MaxPositionEmbeddings, h},
		"bert.embeddings.token_type_embeddings.weight": {cfg.TypeVocabSize, h},
		"bert.embeddings.LayerNorm.weight":             {h},
		"bert.embeddings.LayerNorm.bias":               {h},
	}
	for l := 0; l < cfg.NumHiddenLayers; l++ {
		p := fmt.Sprintf("bert.encoder.layer.%d.", l)
		for _, m := range []string{"attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"} {
			want[p+m+".weight"], want[p+m+".bias"] = []int{h, h}, []int{h}
		}
		want[p+"intermediate.dense.weight"], want[p+"intermediate.dense.bias"] = []int{f, h}, []int{f}
		want[p+"output.dense.weight"], want[p+"output.dense.bias"] = []int{h, f}, []int{h}
		for _, m := range []string{"attention.output.LayerNorm", "output.LayerNorm"} {
			want[p+m+".weight"], want[p+m+".bias"] = []int{h}, []int{h}
		}
	}
	optional := map[string][]int{
		"bert.pooler.dense.weight":                   {h, h},
		"bert.pooler.dense.bias":                     {h},
		"cls.predictions.transform.dense.weight":     {h, h},
		"cls.predictions.transform.dense.bias":       {h},
		"cls.predictions.transform.LayerNorm.weight": {h},
		"cls.predictions.transform.LayerNorm.bias":   {h},
		"cls.predictions.bias":                       {cfg.VocabSize},
		"cls.predictions.decoder.weight":             {cfg.VocabSize, h},
		"cls.predictions.decoder.bias":               {cfg.VocabSize},
		"cls.seq_relationship.weight":                {2, h},
		"cls.seq_relationship.bias":                  {2},
	}
	for _, k := range sortedKeys(want) {
		t, ok := w[k]
		if !ok {
			return fmt.Errorf("missing weight %s (a %d-layer BERT needs it)", k, cfg.NumHiddenLayers)
		}
		if !slices.Equal(t.Shape, want[k]) {
			return fmt.Errorf("weight %s has shape %v, want %v", k, t.Shape, want[k])
		}
	}
	names := make([]string, 0, len(w))
	for k := range w {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if _, ok := want[k]; ok {
			continue
		}
		s, ok := optional[k]
		if !ok {
			return fmt.Errorf("unexpected weight %s (not part of a %d-layer BERT)", k, cfg.NumHiddenLayers)
		}
		if !slices.Equal(w[k].Shape, s) {
			return fmt.Errorf("weight %s has shape %v, want %v", k, w[k].Shape, s)
		}
	}
	return nil
}
