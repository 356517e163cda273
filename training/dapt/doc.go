// Package dapt is domain-adaptive pre-training (Gururangan et al. 2020, the
// OpenMed NER paper's DAPT stage): masked-language-model training of a BERT
// encoder on raw in-domain text, with HF DataCollatorForLanguageModeling's
// dynamic masking (15% of tokens; 80% [MASK], 10% random, 10% kept; specials
// never masked), sequences packed to 256-token blocks, LoRA or full training,
// held-out perplexity before and after, and pre-training from scratch through
// the same path. It reuses loop.Run, so checkpoints, resume, progress
// and metrics.jsonl behave exactly as in token-classification training.
package dapt
