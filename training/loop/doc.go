// Package loop is the training loop every objective shares — the NER
// fine-tuning recipe (package training) and masked-LM pre-training
// (training/dapt): AdamW with linear warm-up then cosine (or linear,
// constant) decay, gradient accumulation and clipping, evaluation at epoch
// ends (or every N steps) with early stopping and best-weights restore,
// metrics.jsonl logging, progress snapshots, and atomic checkpoints that
// resume to bit-identical results (HF Trainer's conventions: Config names
// the TrainingArguments it mirrors). An Objective supplies the batches, the
// forward/backward step and the evaluation; the loop owns everything else.
//
//	res, err := loop.Run(ctx, loop.Config{Model: m, Epochs: 3, LR: 5e-4, WarmupRatio: 0.1, Dir: "out"}, obj)
package loop
