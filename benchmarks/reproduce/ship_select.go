package main

import (
	"fmt"
	"path/filepath"
	"strings"
)

// shipCandidate is one finished LoRA run a shipped tagger can come from.
type shipCandidate struct {
	Job   string
	DevF1 float64
	m     runMetrics
}

// bestShipRun picks corpus's shipped adapter among its finished LoRA runs
// from the pre-trained encoder (lora-ship, then the grid's lora-pretrained)
// by dev micro-F1 — test F1 is reported, never used to choose. It errors
// when neither is done.
func bestShipRun(o Options, corpus string) (shipCandidate, error) {
	var best shipCandidate
	found := false
	var states []string
	for _, name := range []string{ShipJobName(corpus), FineTuneName(corpus, "lora", InitPretrained)} {
		dir := filepath.Join(o.Work, filepath.FromSlash(name))
		st, err := loadState(dir, name)
		if err != nil {
			return best, err
		}
		states = append(states, fmt.Sprintf("%s %s", name, st.Status))
		if st.Status != StatusDone {
			continue
		}
		var m runMetrics
		if ok, err := readJSON(filepath.Join(dir, "metrics.json"), &m); err != nil {
			return best, err
		} else if !ok || m.Dev == nil {
			return best, fmt.Errorf("ship: %s is done but %s has no dev scores", name, filepath.Join(dir, "metrics.json"))
		}
		if !found || m.Dev.Micro.F1 > best.DevF1 {
			best, found = shipCandidate{Job: name, DevF1: m.Dev.Micro.F1, m: m}, true
		}
	}
	if !found {
		return best, fmt.Errorf("ship: no finished LoRA run for %s (%s)", corpus, strings.Join(states, ", "))
	}
	return best, nil
}

// ShipInput reports whether job's result can change what Ship writes: the
// encoder or a shipped corpus's LoRA run from it.
func ShipInput(job string) bool {
	if job == "pretrain" {
		return true
	}
	for c := range ShippedTaggers {
		if job == ShipJobName(c) || job == FineTuneName(c, "lora", InitPretrained) {
			return true
		}
	}
	return false
}

// ShipReady returns nil when Ship has all it needs: the pre-trained encoder
// and, per shipped corpus, a finished LoRA run from it.
func ShipReady(o Options) error {
	st, err := loadState(filepath.Join(o.Work, "pretrain"), "pretrain")
	if err != nil {
		return err
	}
	if st.Status != StatusDone {
		return fmt.Errorf("pretrain is %s", st.Status)
	}
	for _, c := range RunOrder {
		if _, ok := ShippedTaggers[c]; !ok {
			continue
		}
		if _, err := bestShipRun(o, c); err != nil {
			return err
		}
	}
	return nil
}

// shipSection renders the shipped taggers' runs: every candidate's dev and
// test F1 and which one Ship takes.
func shipSection(o Options) string {
	if !o.FT.Ship.Enabled {
		return ""
	}
	var b strings.Builder
	sh := o.FT.Ship
	fmt.Fprintf(&b, "\n### Shipped taggers\n\nThe small tagger (models/fast.json, the `fast` preset; the default tagger is now BERT-base, benchmarks/recipe) ships, per corpus, the LoRA run from the pre-trained encoder with the higher **dev** F1: "+
		"the grid's `lora-pretrained` (paper recipe) or `lora-ship` (r %d, α %g on %s, lr %g, ≤ %d epochs, ≤ %.0f min).\n\n",
		sh.R, sh.Alpha, strings.Join(sh.Targets, "/"), sh.LR, sh.MaxEpochs, sh.MaxMinutes)
	b.WriteString("| corpus | run | dev F1 | test P | test R | test F1 | strict test F1 | epochs (best) | trainable params | shipped |\n|---|---|---|---|---|---|---|---|---|---|\n")
	for _, c := range RunOrder {
		if _, ok := ShippedTaggers[c]; !ok {
			continue
		}
		best, berr := bestShipRun(o, c)
		for _, name := range []string{ShipJobName(c), FineTuneName(c, "lora", InitPretrained)} {
			var m runMetrics
			ok, err := readJSON(filepath.Join(o.Work, filepath.FromSlash(name), "metrics.json"), &m)
			if err != nil || !ok || m.Dev == nil || m.Test == nil {
				fmt.Fprintf(&b, "| %s | %s | (pending) | | | | | | | |\n", c, name)
				continue
			}
			mark := ""
			if berr == nil && best.Job == name {
				mark = "**yes**"
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %d (%d) | %d | %s |\n", c, name, pct(m.Dev.Micro.F1),
				pct(m.Test.Micro.Precision), pct(m.Test.Micro.Recall), pct(m.Test.Micro.F1), pct(m.Test.StrictMicro.F1),
				m.Epochs, m.BestEpoch, m.TrainableParams, mark)
		}
	}
	return b.String()
}
