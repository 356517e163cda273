package main

import (
	_ "embed"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/template"

	"github.com/openmed/openmed/core/checkpoint"
	"github.com/openmed/openmed/core/lora"
	"github.com/openmed/openmed/core/tagger"
	"github.com/openmed/openmed/core/tensor"
	"github.com/openmed/openmed/core/tokenize"
)

//go:embed modelcard.md.tmpl
var modelCardTemplate string

// EncoderName is the shipped encoder's folder under models/.
const EncoderName = "openmed-small-bio"

// MaxShipBytes is the size budget of the shipped encoder (issue #5: ≤ 50 MB).
const MaxShipBytes = 50 << 20

// ShippedTaggers maps corpus → models/ folder of its shipped LoRA adapter.
var ShippedTaggers = map[string]string{"NCBI-Disease": "ncbi-disease-lora", "BC5CDR-Chem": "bc5cdr-chem-lora",
	// Chemical-induced disease text (the README examples): NCBI-Disease
	// never annotates nephrotoxicity or delirium, BC5CDR-Disease does.
	"BC5CDR-Disease": "bc5cdr-disease-lora"}

// cardData fills modelcard.md.tmpl.
type cardData struct {
	Name                                       string
	Layers, Hidden, Heads, FFN, Vocab, Params  int
	SizeMB                                     string
	Corpora                                    string
	Unique, Sentences, Words                   int
	MLMProb                                    float64
	BlockLen, Batch, Epochs, Steps             int
	HeldOutPct, WarmupPct                      float64
	LR                                         float64
	Seed                                       uint64
	CapReason, WallMin, TokensPerSec           string
	LossBefore, AccBefore, LossAfter, AccAfter string
	Command, Verdict                           string
}

// Ship copies the pipeline's products into models: the pre-trained encoder
// as F16 safetensors with config, tokenizer and a filled model card (at most
// MaxShipBytes), the LoRA adapters of ShippedTaggers fine-tuned from it
// (base_model_name_or_path rewritten to ../openmed-small-bio), and
// default.json naming them (tagger.Manifest.Save).
func Ship(o Options, models string) error {
	// Everything is checked before anything is written: a failed Ship
	// never leaves a half-shipped models/ (the embed test refuses one).
	if err := ShipReady(o); err != nil {
		return fmt.Errorf("ship: %w", err)
	}
	pdir := filepath.Join(o.Work, "pretrain")
	st, err := loadState(pdir, "pretrain")
	if err != nil {
		return err
	}
	dst := filepath.Join(models, EncoderName)
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	w, err := checkpoint.ReadSafetensors(filepath.Join(pdir, checkpoint.SafeWeightsFile))
	if err != nil {
		return err
	}
	wpath := filepath.Join(dst, checkpoint.SafeWeightsFile)
	if err := checkpoint.WriteSafetensorsF16(wpath, w, map[string]string{"format": "pt"}); err != nil {
		return err
	}
	fi, err := os.Stat(wpath)
	if err != nil {
		return err
	}
	if fi.Size() > MaxShipBytes {
		return fmt.Errorf("ship: %s is %.1f MB, over the %d MB budget", wpath, float64(fi.Size())/(1<<20), MaxShipBytes>>20)
	}
	cfg, err := checkpoint.LoadConfig(pdir)
	if err != nil {
		return err
	}
	if d := o.FT.Dropout; d != nil {
		// Pre-trained without dropout; the config carries what fine-tuning
		// uses (every grid run and the shipped adapters: train --dropout).
		cfg.HiddenDropoutProb, cfg.AttentionProbsDropoutProb = *d, *d
	}
	if err := cfg.Save(filepath.Join(dst, checkpoint.ConfigFile)); err != nil {
		return err
	}
	if _, err := tokenize.CopyFiles(pdir, dst); err != nil {
		return err
	}
	card, err := encoderCard(o, st, cfg, w, fi.Size())
	if err != nil {
		return err
	}
	if err := checkpoint.WriteFileAtomic(filepath.Join(dst, "README.md"), []byte(card)); err != nil {
		return err
	}
	m := &tagger.Manifest{Base: EncoderName, Adapters: map[string]string{}, TagWith: tagger.TagWithAll}
	for c, name := range ShippedTaggers {
		if err := shipAdapter(o, c, filepath.Join(models, name)); err != nil {
			return err
		}
		m.Adapters[ShippedNames[c]] = name
	}
	return m.Save(models)
}

// ShippedNames maps corpus → the default tagger's adapter name
// (default.json, --use, Entity.Adapter).
var ShippedNames = map[string]string{"NCBI-Disease": "disease", "BC5CDR-Disease": "disease-cdr", "BC5CDR-Chem": "chemical"}

func encoderCard(o Options, st *JobState, cfg *checkpoint.Config, w map[string]*tensor.Tensor, size int64) (string, error) {
	params := 0
	for _, t := range w {
		params += len(t.Data)
	}
	d := cardData{Name: EncoderName, Layers: cfg.NumHiddenLayers, Hidden: cfg.HiddenSize, Heads: cfg.NumAttentionHeads,
		FFN: cfg.IntermediateSize, Vocab: cfg.VocabSize, Params: params, SizeMB: fmt.Sprintf("%.1f", float64(size)/(1<<20)),
		MLMProb: o.Pretrain.MLMProb, BlockLen: o.Pretrain.BlockLen, Batch: o.Pretrain.BatchSize, Epochs: st.Epochs,
		HeldOutPct: 100 * o.Pretrain.HeldOut, WarmupPct: 100 * o.Pretrain.WarmupRatio, LR: o.Pretrain.LR, Seed: o.Seed,
		CapReason: st.CapReason, Command: st.Command}
	if d.CapReason != "" {
		d.CapReason = "Epochs chosen by the time budget: " + d.CapReason + "."
	}
	var ts TextStats
	if _, err := readJSON(filepath.Join(o.Work, "pretrain_text.json"), &ts); err != nil {
		return "", err
	}
	d.Corpora, d.Unique, d.Sentences, d.Words = strings.Join(ts.Corpora, ", "), ts.Unique, ts.Sentences, ts.Words
	var pm struct {
		Steps        int     `json:"steps"`
		Wall         float64 `json:"wall_time_s"`
		TokensPerSec float64 `json:"train_tokens_per_s"`
		Before       struct {
			Loss     float64 `json:"loss"`
			Accuracy float64 `json:"accuracy"`
		} `json:"heldout_before"`
		After struct {
			Loss     float64 `json:"loss"`
			Accuracy float64 `json:"accuracy"`
		} `json:"heldout_after"`
	}
	if _, err := readJSON(filepath.Join(o.Work, "pretrain", "metrics.json"), &pm); err != nil {
		return "", err
	}
	d.Steps, d.WallMin, d.TokensPerSec = pm.Steps, fmt.Sprintf("%.1f", pm.Wall/60), fmt.Sprintf("%.0f", pm.TokensPerSec)
	d.LossBefore, d.AccBefore = fmt.Sprintf("%.3f", pm.Before.Loss), fmt.Sprintf("%.2f", 100*pm.Before.Accuracy)
	d.LossAfter, d.AccAfter = fmt.Sprintf("%.3f", pm.After.Loss), fmt.Sprintf("%.2f", 100*pm.After.Accuracy)
	d.Verdict = verdict(o)
	t, err := template.New("card").Option("missingkey=error").Parse(modelCardTemplate)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	if err := t.Execute(&b, d); err != nil {
		return "", fmt.Errorf("model card: %w", err)
	}
	return b.String(), nil
}

// verdict compares NCBI-Disease test and dev F1 from the pre-trained and
// random-init encoders for each method that has both.
func verdict(o Options) string {
	var lines []string
	for _, meth := range []string{"lora", "full"} {
		var p, r runMetrics
		okp, _ := readJSON(filepath.Join(o.Work, filepath.FromSlash(FineTuneName("NCBI-Disease", meth, InitPretrained)), "metrics.json"), &p)
		okr, _ := readJSON(filepath.Join(o.Work, filepath.FromSlash(FineTuneName("NCBI-Disease", meth, InitRandom)), "metrics.json"), &r)
		if !okp || !okr || p.Test == nil || r.Test == nil || p.Dev == nil || r.Dev == nil {
			lines = append(lines, fmt.Sprintf("- NCBI-Disease, %s: not measured yet.", meth))
			continue
		}
		v := "does not beat"
		if p.Dev.Micro.F1 > r.Dev.Micro.F1 {
			v = "beats"
		}
		lines = append(lines, fmt.Sprintf("- NCBI-Disease, %s fine-tuning: test F1 %s from this encoder vs %s from the same architecture's random initialisation (dev %s vs %s): pre-training %s random init.",
			meth, pct(p.Test.Micro.F1), pct(r.Test.Micro.F1), pct(p.Dev.Micro.F1), pct(r.Dev.Micro.F1), v))
	}
	return strings.Join(lines, "\n")
}

// adapterFiles are copied from a LoRA run into its models/ folder.
// shipAdapter copies corpus's best LoRA adapter from the pre-trained encoder
// (bestShipRun: lora-ship or lora-pretrained, by dev F1) to dst with a card.
func shipAdapter(o Options, corpus, dst string) error {
	best, err := bestShipRun(o, corpus)
	if err != nil {
		return err
	}
	name := best.Job
	src := filepath.Join(o.Work, filepath.FromSlash(name))
	st, err := loadState(src, name)
	if err != nil {
		return err
	}
	if err := lora.CopyAdapter(src, dst, "../"+EncoderName); err != nil {
		return fmt.Errorf("ship %s: %w", name, err)
	}
	ac, err := checkpoint.LoadAdapterConfig(dst)
	if err != nil {
		return err
	}
	rank, targets := ac.R, strings.Join(ac.TargetModules, "/")
	var m runMetrics
	if _, err := readJSON(filepath.Join(src, "metrics.json"), &m); err != nil {
		return err
	}
	if m.Test == nil || m.Dev == nil {
		return fmt.Errorf("ship %s: metrics.json has no dev/test scores", name)
	}
	card := fmt.Sprintf(`# %s

LoRA adapter (PEFT layout, r %d on %s, classifier in modules_to_save) for %s NER on top of
[%s](../%s/), fine-tuned by openmed's reproduction pipeline (%s).

| split | precision | recall | F1 (seqeval default, micro) | strict F1 |
|---|---|---|---|---|
| dev | %s | %s | %s | %s |
| test | %s | %s | %s | %s |

%d epochs (best %d), %.1f minutes, %d trainable parameters of %d.

    openmed tag --model models/%s --base models/%s --text "..."

Command: `+"`%s`"+`
`, filepath.Base(dst), rank, targets, corpus, EncoderName, EncoderName, name,
		pct(m.Dev.Micro.Precision), pct(m.Dev.Micro.Recall), pct(m.Dev.Micro.F1), pct(m.Dev.StrictMicro.F1),
		pct(m.Test.Micro.Precision), pct(m.Test.Micro.Recall), pct(m.Test.Micro.F1), pct(m.Test.StrictMicro.F1),
		m.Epochs, m.BestEpoch, m.WallSeconds/60, m.TrainableParams, m.TotalParams, filepath.Base(dst), EncoderName, st.Command)
	return checkpoint.WriteFileAtomic(filepath.Join(dst, "README.md"), []byte(card))
}
