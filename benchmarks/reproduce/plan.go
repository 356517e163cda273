package main

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/openmed/openmed/core/tensor"
	"github.com/openmed/openmed/core/tokenize"
	"github.com/openmed/openmed/training"
	"github.com/openmed/openmed/training/dapt"
)

// PlanRow is one job of a dry run: tokens per epoch, the epochs the caps
// give, and the estimated training minutes at the configured rates.
type PlanRow struct {
	Job          string
	Tokens       int
	Epochs       int
	CapReason    string
	EstMinutes   float64
	TokensPerSec float64
}

// Plan computes, without training, what Run would do with every selected
// job: the pre-training text statistics and, per job, tokens per epoch,
// epochs after the caps and estimated minutes (at the throughput
// estimates; early stopping makes fine-tuning shorter).
func Plan(o Options) (*TextStats, []PlanRow, error) {
	if err := o.validate(); err != nil {
		return nil, nil, err
	}
	jobs, err := Graph(o)
	if err != nil {
		return nil, nil, err
	}
	text := filepath.Join(o.Work, "plan", textFile)
	ts, err := BuildText(o.Data, text)
	if err != nil {
		return nil, nil, err
	}
	var rows []PlanRow
	for _, j := range jobs {
		switch j.Kind {
		case KindRandomInit:
			continue
		case KindPretrain:
			r := o.recipe(j.Arch)
			tok, err := tokenize.Load(o.Tokenizer)
			if err != nil {
				return nil, nil, err
			}
			lines, err := dapt.ReadLines([]string{text})
			if err != nil {
				return nil, nil, err
			}
			blocks, err := dapt.Pack(tok, lines, r.BlockLen, tensor.Threads())
			if err != nil {
				return nil, nil, err
			}
			n := 0
			for _, b := range blocks {
				n += len(b)
			}
			n = int(float64(n) * (1 - r.HeldOut))
			ep, why := epochCap(r.MaxEpochs, r.Minutes, r.TokensPerSec, n)
			rows = append(rows, PlanRow{Job: j.Name, Tokens: n, Epochs: ep, CapReason: why, TokensPerSec: r.TokensPerSec,
				EstMinutes: float64(ep*n) / r.TokensPerSec / 60})
		case KindFineTune, KindDeBERTaFineTune, KindShipFineTune:
			method, err := training.ParseMethod(j.Method)
			if err != nil {
				return nil, nil, err
			}
			rate := o.ftRate(j, method)
			n, err := trainTokens(filepath.Join(o.Data, j.Corpus, "train.tsv"), o.Tokenizer, o.FT.MaxLen, o.FT.Stride)
			if err != nil {
				return nil, nil, err
			}
			maxEp, minutes := o.FT.MaxEpochs, o.FT.MaxMinutesPerJob
			if j.Kind == KindShipFineTune {
				maxEp, minutes, rate = o.FT.Ship.MaxEpochs, o.FT.Ship.MaxMinutes, o.FT.TokensPerSecFull
			}
			ep, why := epochCap(maxEp, minutes, rate, n)
			rows = append(rows, PlanRow{Job: j.Name, Tokens: n, Epochs: ep, CapReason: why, TokensPerSec: rate,
				EstMinutes: float64(ep*n) / rate / 60})
		}
	}
	return ts, rows, nil
}

// FormatPlan renders a plan as a markdown table with the total.
func FormatPlan(ts *TextStats, rows []PlanRow) string {
	var b strings.Builder
	fmt.Fprintf(&b, "pre-training text: %d train sentences, %d unique, %d words (%s)\n\n", ts.Sentences, ts.Unique, ts.Words, strings.Join(ts.Corpora, ", "))
	fmt.Fprintf(&b, "| job | tokens/epoch | epochs | est. tokens/s | est. minutes (max) | cap |\n|---|---|---|---|---|---|\n")
	total := 0.0
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %d | %d | %.0f | %.1f | %s |\n", r.Job, r.Tokens, r.Epochs, r.TokensPerSec, r.EstMinutes, r.CapReason)
		total += r.EstMinutes
	}
	fmt.Fprintf(&b, "\ntotal (before early stopping, evaluation excluded): %.0f minutes = %.1f hours\n", total, total/60)
	return b.String()
}
