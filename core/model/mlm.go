package model

import "github.com/openmed/openmed/core/tensor"

// MLMHead is a masked-LM head logits = LN(act(Transform(h)))·Eᵀ + bias with
// the decoder weight tied to the word embeddings E (HF _tied_weights_keys:
// the decoder weight is the embedding tensor and is not saved). For BERT it
// is BertOnlyMLMHead (cls.predictions.transform.dense H→H with hidden_act,
// cls.predictions.transform.LayerNorm, decoder bias tied to
// cls.predictions.bias); for ELECTRA it is the generator head
// (generator_predictions.dense H→embedding_size with exact GELU,
// generator_predictions.LayerNorm, generator_lm_head with its own bias).
type MLMHead struct {
	// Transform is cls.predictions.transform.dense.
	Transform Projection
	Act       tensor.Activation
	// LN is cls.predictions.transform.LayerNorm.
	LN *LayerNorm
	// Decoder is the word-embedding parameter (tied).
	Decoder *tensor.Param
	// Bias is cls.predictions.bias.
	Bias *tensor.Param

	vocab           int
	h, z, g, t, out []float32
	dt              []float32
}

func newMLMHead(arch Arch, H, E int, eps float32, act tensor.Activation, word *tensor.Param, vocab int) *MLMHead {
	if arch == DeBERTaV2 {
		// DeBERTa-v3's LMPredictionHead: lm_predictions.lm_head.{dense,
		// LayerNorm,bias} (dense hidden→embedding_size with hidden_act).
		return &MLMHead{
			Transform: NewLinear("lm_predictions.lm_head.dense", H, E, true),
			Act:       act,
			LN:        NewLayerNorm("lm_predictions.lm_head.LayerNorm", E, eps),
			Decoder:   word,
			Bias:      newParam("lm_predictions.lm_head.bias", true, vocab),
			vocab:     vocab,
		}
	}
	if arch == ELECTRA {
		return &MLMHead{
			Transform: NewLinear("generator_predictions.dense", H, E, true),
			Act:       tensor.GELU, // ElectraGeneratorPredictions: get_activation("gelu")
			LN:        NewLayerNorm("generator_predictions.LayerNorm", E, eps),
			Decoder:   word,
			Bias:      newParam("generator_lm_head.bias", true, vocab),
			vocab:     vocab,
		}
	}
	return &MLMHead{
		Transform: NewLinear("cls.predictions.transform.dense", H, H, true),
		Act:       act,
		LN:        NewLayerNorm("cls.predictions.transform.LayerNorm", H, eps),
		Decoder:   word,
		Bias:      newParam("cls.predictions.bias", true, vocab),
		vocab:     vocab,
	}
}

// Params lists the head's own parameters (the tied decoder weight is the
// embedding's and is listed there).
func (m *MLMHead) Params() []*tensor.Param {
	ps := append([]*tensor.Param{}, m.Transform.Params()...)
	ps = append(ps, m.LN.Params()...)
	return append(ps, m.Bias)
}

// Forward returns the vocabulary logits [tokens, vocab] for hidden states h.
func (m *MLMHead) Forward(h []float32, n int) []float32 {
	H := m.Transform.OutFeatures()
	m.h = h
	m.z = grow(m.z, n*H)
	m.g = grow(m.g, n*H)
	m.t = grow(m.t, n*H)
	m.out = grow(m.out, n*m.vocab)
	if lin, ok := m.Transform.(*Linear); ok {
		lin.ForwardNoBias(m.z, h, n)
		tensor.BiasAct(m.g, m.z, lin.Bias.Value.Data, n, H, m.Act)
	} else {
		m.Transform.Forward(m.z, h, n)
		tensor.BiasAct(m.g, m.z, nil, n, H, m.Act)
	}
	m.LN.Forward(m.t, m.g, n)
	tensor.BroadcastRows(m.out, m.Bias.Value.Data, n, m.vocab)
	tensor.GemmParallel(tensor.NoTrans, tensor.Trans, n, m.vocab, H, 1, m.t, H, m.Decoder.Value.Data, H, 1, m.out, m.vocab)
	return m.out
}

// Backward writes dL/dh into dh and accumulates the head's (and, when
// trainable, the tied embedding's) gradients.
func (m *MLMHead) Backward(dh, dlogits []float32, n int) {
	H := m.Transform.OutFeatures()
	if m.Bias.Grad != nil {
		tensor.SumRows(m.Bias.Grad.Data, dlogits, n, m.vocab)
	}
	if m.Decoder.Grad != nil {
		tensor.GemmParallel(tensor.Trans, tensor.NoTrans, m.vocab, H, n, 1, dlogits, m.vocab, m.t, H, 1, m.Decoder.Grad.Data, H)
	}
	m.dt = grow(m.dt, n*H)
	tensor.GemmParallel(tensor.NoTrans, tensor.NoTrans, n, H, m.vocab, 1, dlogits, m.vocab, m.Decoder.Value.Data, H, 0, m.dt, H)
	m.LN.Backward(m.dt, m.g, m.dt, n)
	tensor.ActBackward(m.dt, m.dt, m.z, m.Act)
	m.Transform.Backward(dh, m.h, m.dt, n, false)
}
