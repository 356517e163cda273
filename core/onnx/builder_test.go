package onnx

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/openmed/openmed/core/checkpoint"
	"github.com/openmed/openmed/core/tensor"
)

func TestBuilderErrors(t *testing.T) {
	t.Run("duplicate name", func(t *testing.T) {
		b := NewBuilder("g")
		b.Input("x", Float)
		b.Input("x", Float)
		assert.ErrorContains(t, b.Err(), `duplicate value name "x"`)
		_, err := b.Model("openmed", "t")
		assert.Error(t, err)
	})
	t.Run("undefined input", func(t *testing.T) {
		b := NewBuilder("g")
		b.Relu("nowhere")
		assert.ErrorContains(t, b.Err(), `"nowhere" is not defined`)
	})
	t.Run("no output", func(t *testing.T) {
		b := NewBuilder("g")
		b.Relu(b.Input("x", Float))
		_, err := b.Model("openmed", "t")
		assert.ErrorContains(t, err, "no output")
	})
	t.Run("transposed weight must be 2-D", func(t *testing.T) {
		b := NewBuilder("g")
		b.WeightTransposed("w", tensor.New(2, 2, 2))
		assert.ErrorContains(t, b.Err(), "want 2-D")
	})
	t.Run("constants are shared", func(t *testing.T) {
		b := NewBuilder("g")
		assert.Equal(t, b.ScalarFloat(0.5), b.ScalarFloat(0.5))
		assert.NotEqual(t, b.ScalarFloat(0.5), b.ScalarFloat(1))
		assert.NotEqual(t, b.ConstInt64([]int64{1}), b.ConstInt64([]int64{1}, 1), "scalar vs 1-D")
		require.NoError(t, b.Err())
	})
}

func TestWeightTransposed(t *testing.T) {
	b := NewBuilder("g")
	w, err := tensor.FromData([]float32{1, 2, 3, 4, 5, 6}, 2, 3) // [out=2, in=3]
	require.NoError(t, err)
	name := b.WeightTransposed("lin.weight", w)
	require.NoError(t, b.Err())
	assert.Equal(t, "lin.weight.T", name)
	got := b.graph.Initializers[0]
	assert.Equal(t, []int64{3, 2}, got.Dims)
	assert.Equal(t, []float32{1, 4, 2, 5, 3, 6}, got.Floats)
}

func fixtureConfig(t *testing.T, arch string) (*checkpoint.Config, map[string]*tensor.Tensor) {
	t.Helper()
	dir := sharedDir(t) + "/fixtures/" + arch
	cfg, err := checkpoint.LoadConfig(dir)
	require.NoError(t, err)
	w, err := checkpoint.LoadWeights(dir)
	require.NoError(t, err)
	return cfg, w
}

func TestBuildTokenClassifierErrors(t *testing.T) {
	cfg, w := fixtureConfig(t, "bert")

	t.Run("missing and mis-shaped weights are all listed", func(t *testing.T) {
		broken := map[string]*tensor.Tensor{}
		for k, v := range w {
			broken[k] = v
		}
		delete(broken, "bert.encoder.layer.1.attention.self.key.bias")
		delete(broken, "classifier.weight")
		broken["bert.embeddings.LayerNorm.weight"] = tensor.New(7)
		_, err := BuildTokenClassifier(cfg, broken)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "bert.encoder.layer.1.attention.self.key.bias")
		assert.Contains(t, err.Error(), "classifier.weight")
		assert.Contains(t, err.Error(), "bert.embeddings.LayerNorm.weight (shape [7], config wants [32])")
	})
	t.Run("unsupported model type", func(t *testing.T) {
		c := *cfg
		c.ModelType = checkpoint.ModelRoberta
		_, err := BuildTokenClassifier(&c, w)
		assert.ErrorContains(t, err, `model_type "roberta"`)
	})
	t.Run("unsupported activation", func(t *testing.T) {
		c := *cfg
		c.HiddenAct = "mish"
		_, err := BuildTokenClassifier(&c, w)
		assert.ErrorContains(t, err, `hidden_act "mish"`)
	})
	t.Run("heads must divide hidden", func(t *testing.T) {
		c := *cfg
		c.NumAttentionHeads = 5
		_, err := BuildTokenClassifier(&c, w)
		assert.ErrorContains(t, err, "num_attention_heads 5")
	})
	t.Run("no labels", func(t *testing.T) {
		c := *cfg
		c.ID2Label, c.Label2ID = nil, nil
		_, err := BuildTokenClassifier(&c, w)
		assert.ErrorContains(t, err, "num_labels")
	})
}

func TestBuildTokenClassifierStructure(t *testing.T) {
	for _, arch := range []string{"bert", "electra", "deberta_v3"} {
		t.Run(arch, func(t *testing.T) {
			cfg, w := fixtureConfig(t, arch)
			b, err := BuildTokenClassifier(cfg, w)
			require.NoError(t, err)
			m, err := b.Model("openmed", "t")
			require.NoError(t, err)
			g := m.Graph
			var ins []string
			for _, in := range g.Inputs {
				ins = append(ins, in.Name)
				assert.Equal(t, Int64, in.ElemType)
				assert.Equal(t, []Dim{Symbolic(AxisBatch), Symbolic(AxisSequence)}, in.Dims)
			}
			if arch == "deberta_v3" { // type_vocab_size 0: no token_type_ids (Optimum does the same)
				assert.Equal(t, []string{InputIDs, AttentionMask}, ins)
			} else {
				assert.Equal(t, []string{InputIDs, AttentionMask, TokenTypeIDs}, ins)
			}
			require.Len(t, g.Outputs, 1)
			assert.Equal(t, ValueInfo{Name: OutputLogits, ElemType: Float,
				Dims: []Dim{Symbolic(AxisBatch), Symbolic(AxisSequence), Fixed(5)}}, g.Outputs[0])
			ops := map[string]int{}
			for _, n := range g.Nodes {
				ops[n.OpType]++
			}
			// 1 embedding LN + 2 per layer (+ DeBERTa's rel_embeddings LN);
			// one softmax and one erf per layer.
			lns := 1 + 2*cfg.NumHiddenLayers
			if arch == "deberta_v3" {
				lns++
			}
			assert.Equal(t, lns, ops["LayerNormalization"])
			assert.Equal(t, cfg.NumHiddenLayers, ops["Softmax"])
			assert.Equal(t, cfg.NumHiddenLayers, ops["Erf"])
			assert.Equal(t, 1, ops["Range"], "positions from Range(0, seq_len)")
			if arch == "deberta_v3" {
				assert.Equal(t, 2*cfg.NumHiddenLayers, ops["GatherElements"], "c2p and p2c per layer")
				assert.Equal(t, 2*cfg.NumHiddenLayers, ops["Where"], "XSoftmax fill and zero per layer")
			}
			// Every state_dict weight ends up as exactly one initializer.
			inits := map[string]bool{}
			for _, in := range g.Initializers {
				inits[in.Name] = true
			}
			for k := range w {
				assert.True(t, inits[k] || inits[k+".T"], "weight %s not exported", k)
			}
		})
	}
}
