// Package model holds openmed's encoders (BERT, ELECTRA, DeBERTa-v2/v3)
// and their heads as explicit layers, each with a Forward that caches what
// its Backward needs and a Backward that accumulates parameter gradients and
// returns input gradients. Activations are flat row-major [tokens, width]
// float32 slices (tokens = batch×sequence); layers own their output buffers
// and reuse them across steps, so a training step allocates almost nothing
// after the first. Parameter names are Hugging Face state_dict keys
// (transformers modeling_bert.py / modeling_electra.py / modeling_deberta_v2.py).
//
// Extension points: every affine map is a Projection slot (listed with its
// HF module path by Model.Projections), so core/lora wraps any of them by
// name; the attention block of an EncoderLayer is the Attention interface,
// and DeBERTa-v2/v3's disentangled attention (DisentangledAttention:
// relative embeddings shared through Encoder.Rel, c2p/p2c, query/key
// projections applied to the relative embeddings as well) implements it,
// reusing Linear, LayerNorm, EncoderLayer, the heads and LoRA unchanged. Projections may be applied several times per step
// (LoRA keeps a per-call cache stack popped in reverse order).
//
// Frozen parameters (Grad == nil) cost no weight-gradient GEMM, and the
// encoder's backward stops at the lowest layer with trainable parameters,
// whose input gradient it does not form.
package model
