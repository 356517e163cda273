package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/openmed/openmed/core/metrics"
	"github.com/openmed/openmed/training/dapt"
)

// debertaSection renders the DeBERTa comparison (issue #8) for Table: per
// corpus × method × init of DeBERTaCorpora, the DeBERTa run's test P/R/F1
// beside the BERT run's test F1, their difference and a paired
// approximate-randomization p-value (same protocol as the BERT grid's
// columns), then both encoders' pre-training side by side and the DeBERTa
// MLM curve. It is empty unless --deberta is set or the work dir holds a
// DeBERTa job, so the BERT table is unchanged without it. A read error is
// reported inside the section (Table keeps rendering).
func debertaSection(o Options) string {
	if _, err := os.Stat(filepath.Join(o.Work, PretrainDeBERTaJob, stateFile)); !o.DeBERTa.Enabled && err != nil {
		return ""
	}
	var b strings.Builder
	if err := writeDeBERTa(&b, o); err != nil {
		fmt.Fprintf(&b, "\nDeBERTa section incomplete: %v\n", err)
	}
	return b.String()
}

func writeDeBERTa(b *strings.Builder, o Options) error {
	w := func(format string, a ...any) { fmt.Fprintf(b, format, a...) }
	enc, ft := debertaJobs(o, o.selectedCorpora(Corpora)) // the table's corpus order
	r := o.recipe(dapt.ArchDeBERTaV3)
	w("\n### DeBERTa-v3-shaped encoder vs BERT (same recipe)\n\n")
	w("A second encoder pre-trained here exactly like the BERT one — same text, %d layers × %d hidden, %d heads, FFN %d, "+
		"%d-token blocks, batch %d, peak lr %g, MLM %.0f%%, %s word-embedding init, dropout %s in pre-training and 0.1 in fine-tuning, "+
		"the same %s — but with DeBERTa-v3's architecture (He et al. 2021; deberta-v3-base's config conventions): "+
		"disentangled attention (content→position and position→content, shared keys) over %d log-bucketed relative positions "+
		"instead of absolute position embeddings, and no token types. It uses the same PubMedBERT WordPiece vocabulary (not "+
		"DeBERTa-v3's 128k SentencePiece one) and masked-LM pre-training (not DeBERTa-v3's replaced-token detection), so the "+
		"difference below is the architecture only. DeBERTa F1 with its difference to BERT (Δ, points) and the paired "+
		"approximate-randomization p-value of DeBERTa vs BERT on test (%d shuffles, seed %d); **p pre-trained vs random** "+
		"tests the DeBERTa run against the DeBERTa run of the other init, like the grid's column.\n\n",
		r.Scratch.Layers, r.Scratch.Hidden, r.Scratch.Heads, r.Scratch.FFN, r.BlockLen, r.BatchSize, r.LR, 100*r.MLMProb,
		embInitName(r), dropoutName(r), budgetName(r), dapt.DeBERTaPositionBuckets, SigShuffles, o.Seed)
	w("| corpus | method | init | BERT test F1 | DeBERTa test P | DeBERTa test R | DeBERTa test F1 | Δ F1 | p DeBERTa vs BERT | p pre-trained vs random | BERT dev F1 | DeBERTa dev F1 | DeBERTa epochs | DeBERTa wall | state |\n")
	w("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	sig := newSignificance(o)
	var cmds []string
	for _, e := range enc {
		st, err := loadState(e.Dir(o.Work), e.Name)
		if err != nil {
			return err
		}
		if st.Command != "" {
			cmds = append(cmds, st.Command)
		}
	}
	for _, j := range ft {
		bj := FineTuneJob(j.Corpus, j.Method, j.Init)
		var bm, dm runMetrics
		bok, err := readJSON(filepath.Join(bj.Dir(o.Work), "metrics.json"), &bm)
		if err != nil {
			return err
		}
		bst, err := loadState(bj.Dir(o.Work), bj.Name)
		if err != nil {
			return err
		}
		dst, err := loadState(j.Dir(o.Work), j.Name)
		if err != nil {
			return err
		}
		if dst.Command != "" {
			cmds = append(cmds, dst.Command)
		}
		dok, err := readJSON(filepath.Join(j.Dir(o.Work), "metrics.json"), &dm)
		if err != nil {
			return err
		}
		bertDone := bst.Status == StatusDone && bok && bm.Test != nil
		bertF1, bertDev := "pending", ""
		if bertDone {
			bertF1 = pct(bm.Test.Micro.F1)
			if bm.Dev != nil {
				bertDev = pct(bm.Dev.Micro.F1)
			}
		}
		if dst.Status != StatusDone || !dok || dm.Test == nil {
			w("| %s | %s | %s | %s | pending | | | | | | %s | | | | %s |\n", j.Corpus, j.Method, j.Init, bertF1, bertDev, dst.Status)
			continue
		}
		delta, p := "", "pending (BERT)"
		if bertDone {
			delta = fmt.Sprintf("%+.2f", 100*(dm.Test.Micro.F1-bm.Test.Micro.F1))
			if p, err = debertaVsBERT(sig, j, bj, o.Seed); err != nil {
				return err
			}
		}
		dev := ""
		if dm.Dev != nil {
			dev = pct(dm.Dev.Micro.F1)
		}
		ep := epochsCell(dm, dst)
		pi, err := sig.Test(j, AxisInit)
		if err != nil {
			return err
		}
		w("| %s | %s | %s | %s | %s | %s | **%s** | %s | %s | %s | %s | %s | %s | %.1f min | done |\n", j.Corpus, j.Method, j.Init, bertF1,
			pct(dm.Test.Micro.Precision), pct(dm.Test.Micro.Recall), pct(dm.Test.Micro.F1), delta, p, pi.Cell(), bertDev, dev, ep, dm.WallSeconds/60)
	}
	w("\n#### Pre-training, BERT vs DeBERTa\n\n| encoder | state | steps | epochs | wall | train tokens/s | parameters | held-out MLM loss | held-out accuracy |\n|---|---|---|---|---|---|---|---|---|\n")
	for _, e := range []struct{ label, job string }{{"BERT", "pretrain"}, {"DeBERTa-v3-shaped", PretrainDeBERTaJob}} {
		dir := filepath.Join(o.Work, e.job)
		st, err := loadState(dir, e.job)
		if err != nil {
			return err
		}
		var pm struct {
			Steps        int     `json:"steps"`
			Epochs       int     `json:"epochs"`
			Wall         float64 `json:"wall_time_s"`
			TokensPerSec float64 `json:"train_tokens_per_s"`
			Params       int     `json:"total_params"`
			After        struct {
				Loss     float64 `json:"loss"`
				Accuracy float64 `json:"accuracy"`
			} `json:"heldout_after"`
		}
		ok, err := readJSON(filepath.Join(dir, "metrics.json"), &pm)
		if err != nil {
			return err
		}
		if !ok {
			w("| %s | %s | | | | | | | |\n", e.label, st.Status)
			continue
		}
		w("| %s | %s | %d | %d | %.1f min | %.0f | %d | %.3f | %.2f%% |\n", e.label, st.Status, pm.Steps, pm.Epochs, pm.Wall/60,
			pm.TokensPerSec, pm.Params, pm.After.Loss, 100*pm.After.Accuracy)
	}
	rows, err := curveRows(filepath.Join(o.Work, PretrainDeBERTaJob))
	if err != nil {
		return err
	}
	if len(rows) > 0 {
		w("\nDeBERTa MLM curve:\n\n| step | held-out MLM loss | held-out accuracy | train loss |\n|---|---|---|---|\n")
		for _, r := range rows {
			tl := ""
			if v, ok := r["train_loss"]; ok {
				tl = fmt.Sprintf("%.3f", toF(v))
			}
			w("| %v | %.3f | %.2f%% | %s |\n", r["step"], toF(r["heldout_loss"]), 100*toF(r["heldout_accuracy"]), tl)
		}
	}
	if !o.DeBERTa.Enabled && len(cmds) > 0 { // with --deberta they are in the Commands block
		w("\nDeBERTa commands (as run):\n\n```\n%s\n```\n", strings.Join(cmds, "\n"))
	}
	return nil
}

// debertaVsBERT is the paired approximate-randomization test of a DeBERTa
// run against the BERT run of the same corpus, method and init on the gold
// test file: the p-value cell ("*" when p < SigAlpha) or why there is none.
func debertaVsBERT(sig *significance, deb, bert Job, seed uint64) (string, error) {
	pd, err := sig.predictions(deb)
	if err != nil {
		return "", err
	}
	pb, err := sig.predictions(bert)
	if err != nil {
		return "", err
	}
	if pd == nil || pb == nil {
		return "n/a (no " + testPredictions + ")", nil
	}
	g, err := sig.goldTags(deb.Corpus)
	if err != nil {
		return "", err
	}
	r, err := metrics.ApproximateRandomization(g, pd, pb, metrics.WithShuffles(SigShuffles), metrics.WithSeed(seed))
	if err != nil {
		return "", fmt.Errorf("reproduce: significance %s vs %s: %w", deb.Name, bert.Name, err)
	}
	return SigTest{Result: &r}.Cell(), nil
}

// embInitName names the recipe's word-embedding init for the prose.
func embInitName(r Recipe) string {
	if r.Scratch.EmbeddingInit == dapt.EmbeddingPPMISVD {
		return "PPMI-SVD"
	}
	return "HF normal"
}

// dropoutName is the recipe's pre-training dropout (nil: BERT's 0.1).
func dropoutName(r Recipe) string {
	if r.Scratch.Dropout == nil {
		return "0.1"
	}
	return fmt.Sprintf("%g", *r.Scratch.Dropout)
}

// budgetName is the recipe's pre-training budget for the prose.
func budgetName(r Recipe) string {
	if r.Minutes > 0 {
		return fmt.Sprintf("%.0f-minute budget (epochs from its own measured throughput)", r.Minutes)
	}
	return fmt.Sprintf("%d epochs", r.MaxEpochs)
}
