// Package model holds openmed's encoders (BERT, ELECTRA; DeBERTa-v3 later)
// and their heads as explicit layers, each with a Forward that caches what
// its Backward needs and a Backward that accumulates parameter gradients and
// returns input gradients. Activations are flat row-major [tokens, width]
// float32 slices (tokens = batch×sequence); layers own their output buffers
// and reuse them across steps, so a training step allocates almost nothing
// after the first. Parameter names are Hugging Face state_dict keys
// (transformers modeling_bert.py / modeling_electra.py).
package model
