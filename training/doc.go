// Package training is the OpenMed NER paper's fine-tuning recipe as a Go
// API: CoNLL sentences become token-classification windows (labels on the
// first sub-token of each word, 256-token windows with 50 overlap, each word
// predicted by the window where it sits farthest from an edge), a base
// encoder gets a fresh classifier and LoRA adapters (r 16, α 32, dropout
// 0.05 on query/value) or is fully fine-tuned, and training/loop optimises with
// AdamW, 10% warm-up + cosine decay, label smoothing 0.1, weight decay 0.01,
// clipping 1.0 and early stopping on dev micro-F1 (patience 3), keeping the
// best weights. Checkpoints are atomic and resumable to bit-identical
// results; outputs are PEFT adapter folders or HF checkpoints.
//
//	cfg := training.DefaultConfig()
//	cfg.Base, cfg.Train, cfg.Dev, cfg.Out = "pubmedbert/", "train.tsv", "devel.tsv", "out/"
//	res, err := training.Train(ctx, cfg)
//
// Subpackages: loop (the generic loop: optimiser, schedule, checkpoints,
// resume, early stopping, progress), loss (label-smoothed cross-entropy),
// optim (AdamW, schedules, clipping), hpo and search (TPE search) and dapt
// (masked-LM domain-adaptive pre-training on the same loop).
package training
