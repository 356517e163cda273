package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/openmed/openmed/core/checkpoint"
	"github.com/openmed/openmed/core/lora"
	"github.com/openmed/openmed/core/tagger"
	"github.com/openmed/openmed/training"
)

// ShipTaggers are the default tagger's adapters (issue 18): adapter name →
// corpus. "species" is S800 by default (-species Linnaeus): S800 spans 800
// abstracts across eight taxonomic groups, closer to arbitrary abstracts than
// Linnaeus's 100 full-text documents.
var ShipTaggers = map[string]string{"disease": "NCBI-Disease", "disease-cdr": "BC5CDR-Disease",
	"chemical": "BC5CDR-Chem", "gene": "BC2GM", "species": "S800"}

// UntypedCorpora are the corpora whose tags carry no entity type (S800's bare
// B/I), with the type their shipped adapter reports (training.RetypeLabels).
var UntypedCorpora = map[string]string{"S800": "Species"}

// ShipOptions say what `recipe ship` writes.
type ShipOptions struct {
	// Encoder is the shared base (an Encoders name).
	Encoder string
	// Species is the corpus of the "species" adapter (S800 or Linnaeus).
	Species string
	// Models is the folder the default tagger is written to (models/).
	Models string
	// Names are the ShipTaggers names to ship; empty ships all of them. A
	// subset ships the adapters whose runs have finished while the others
	// still train (the default.json then names only those).
	Names []string
}

// shipChoice is one adapter's pick: the job with the best dev F1 among the
// finished adapter jobs on the shared DAPT'd base.
type shipChoice struct {
	Name, Corpus, Folder string
	Job                  Job
	Metrics              *training.RunMetrics
	Considered           []string
	// Retype is the entity type the shipped head gives the corpus's untyped
	// tags (UntypedCorpora), "" for typed corpora.
	Retype string
}

// chooseShip picks, for every ShipTaggers name, the finished job on
// so.Encoder's DAPT'd base with an adapter output (LoRA variants) and the
// best dev micro-F1 (the paper's best-of-breed rule on one shared base: the
// test split plays no part). Every name must have a candidate, and an
// untyped corpus's pick must have labels that RetypeLabels can type.
func chooseShip(o Options, so ShipOptions) ([]shipChoice, error) {
	taggers := map[string]string{}
	for n, c := range ShipTaggers {
		taggers[n] = c
	}
	if so.Species != "" {
		taggers["species"] = so.Species
	}
	if len(so.Names) > 0 {
		picked := map[string]string{}
		for _, n := range so.Names {
			c, ok := taggers[n]
			if !ok {
				return nil, fmt.Errorf("ship: -names: no adapter %q (want some of %s)", n, strings.Join(sortedKeys(taggers), ", "))
			}
			picked[n] = c
		}
		taggers = picked
	}
	var out []shipChoice
	var missing []string
	for _, name := range sortedKeys(taggers) {
		c := taggers[name]
		ch := shipChoice{Name: name, Corpus: c, Folder: strings.ToLower(c) + "-" + so.Encoder}
		for _, j := range AllJobs() {
			if j.Encoder.Name != so.Encoder || j.Corpus != c || !j.Variant.DAPT || j.Variant.Method == training.MethodFull {
				continue
			}
			if status(o, j) != "done" {
				continue
			}
			m, err := training.ReadRunMetrics(resultDir(o, j))
			if err != nil {
				return nil, err
			}
			if m.Dev == nil {
				return nil, fmt.Errorf("%s: metrics.json has no dev scores", resultDir(o, j))
			}
			ch.Considered = append(ch.Considered, fmt.Sprintf("%s dev F1 %s", j.Variant.Name, pct(m.Dev.Micro.F1)))
			if ch.Metrics == nil || m.Dev.Micro.F1 > ch.Metrics.Dev.Micro.F1 {
				ch.Job, ch.Metrics = j, m
			}
		}
		if ch.Metrics == nil {
			missing = append(missing, fmt.Sprintf("%s (%s/%s/lora)", name, so.Encoder, c))
			continue
		}
		if typ, ok := UntypedCorpora[c]; ok {
			cfg, err := checkpoint.LoadConfig(filepath.Join(resultDir(o, ch.Job), checkpoint.ConfigFile))
			if err != nil {
				return nil, fmt.Errorf("ship %s: %w", ch.Job.Name(), err)
			}
			if _, err := training.RetypedLabels(cfg.Labels(), typ); err != nil {
				return nil, fmt.Errorf("ship %s: %s labels: %w", ch.Job.Name(), c, err)
			}
			ch.Retype = typ
		}
		out = append(out, ch)
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("ship: no finished adapter run for %s: run `recipe run` first", strings.Join(missing, ", "))
	}
	return out, nil
}

// Ship writes the default tagger into so.Models: the DAPT adapter of
// so.Encoder (<encoder>-dapt/), the chosen task adapters, a model card in
// each folder, and default.json naming base_encoder so.Encoder. Everything is
// chosen and checked before anything is written. Folders of an earlier
// default tagger are left in place.
func Ship(o Options, so ShipOptions) error {
	choices, err := chooseShip(o, so)
	if err != nil {
		return err
	}
	var dm daptMetrics
	mp, adapter := daptMetricsPath(o, so.Encoder), daptAdapterPath(o, so.Encoder)
	if mp == "" || adapter == "" {
		return fmt.Errorf("ship: no DAPT run of %s in %s or %s", so.Encoder, o.Work, o.Archive)
	}
	if err := readJSONFile(mp, &dm); err != nil {
		return fmt.Errorf("ship: DAPT run of %s: %w", so.Encoder, err)
	}
	baseAdapter := so.Encoder + "-dapt"
	m := &tagger.Manifest{BaseEncoder: so.Encoder, BaseAdapter: baseAdapter, Adapters: map[string]string{}, TagWith: tagger.TagWithAll}
	for _, ch := range choices {
		m.Adapters[ch.Name] = ch.Folder
	}
	if err := m.Validate(); err != nil {
		return fmt.Errorf("ship: %w", err)
	}
	dst := filepath.Join(so.Models, baseAdapter)
	if err := lora.CopyAdapter(adapter, dst, so.Encoder); err != nil {
		return fmt.Errorf("ship: %w", err)
	}
	if err := writeCard(dst, daptCard(so.Encoder, dm)); err != nil {
		return err
	}
	for _, ch := range choices {
		dst := filepath.Join(so.Models, ch.Folder)
		if err := lora.CopyAdapter(resultDir(o, ch.Job), dst, so.Encoder); err != nil {
			return fmt.Errorf("ship %s: %w", ch.Job.Name(), err)
		}
		if ch.Retype != "" {
			if err := training.RetypeLabels(dst, ch.Retype); err != nil {
				return fmt.Errorf("ship %s: %w", ch.Job.Name(), err)
			}
		}
		card, err := adapterCard(o, so, ch, baseAdapter)
		if err != nil {
			return err
		}
		if err := writeCard(dst, card); err != nil {
			return err
		}
	}
	return m.Save(so.Models)
}

func writeCard(dir, text string) error {
	return checkpoint.WriteFileAtomic(filepath.Join(dir, "README.md"), []byte(text))
}

// daptCard describes the DAPT adapter from its run's metrics.json.
func daptCard(enc string, dm daptMetrics) string {
	return fmt.Sprintf(`# %s-dapt

Domain-adaptive pre-training delta of %s (OpenMed NER §3.2, Table 1): a PEFT LoRA adapter
(task_type FEATURE_EXTRACTION; r 16, α 32, dropout 0.05 on query/value) trained with masked-LM
(15%% dynamic masking, sequence 256) on the train splits of the ten corpora (no dev or test text),
%d steps, %.0f minutes on 2 CPU cores. Held-out masked-LM perplexity %.2f before, %.2f after (%+.1f%%).

The default tagger (default.json) merges it into %s from the encoder cache (fetched and
sha256-checked by `+"`openmed encoders install %s`"+`) before its task adapters attach.
Made by `+"`benchmarks/recipe/dapt.sh`"+`; numbers from the run's metrics.json.
`, enc, enc, dm.Steps, dm.Wall/60, dm.Before.Perplexity, dm.After.Perplexity,
		100*(dm.After.Perplexity-dm.Before.Perplexity)/dm.Before.Perplexity, enc, enc)
}

// adapterCard describes a shipped task adapter from its run's files.
func adapterCard(o Options, so ShipOptions, ch shipChoice, baseAdapter string) (string, error) {
	dir := resultDir(o, ch.Job)
	ac, err := checkpoint.LoadAdapterConfig(dir)
	if err != nil {
		return "", err
	}
	var p JobPlan
	if err := readJSONFile(filepath.Join(dir, planFile), &p); err != nil {
		return "", err
	}
	var rt rawTextJSON
	if err := readJSONFile(filepath.Join(dir, rawTextFile), &rt); err != nil {
		return "", err
	}
	m := ch.Metrics
	raw := func(k string) string {
		if r, ok := rt.Paragraph[k]; ok {
			return pct(r.F1)
		}
		return "—"
	}
	test := "—"
	if m.Test != nil {
		test = pct(m.Test.Micro.F1)
	}
	retyped := ""
	if ch.Retype != "" {
		retyped = fmt.Sprintf("\n%s's tags carry no entity type (B/I); the shipped head reports them as %s (labels renamed, weights unchanged).\n", ch.Corpus, ch.Retype)
	}
	return fmt.Sprintf(`# %s

The default tagger's %q adapter: %s NER, a PEFT LoRA adapter (r %d, α %g on %s, classifier in
modules_to_save) fine-tuned on %s + [%s](../%s/) (the DAPT delta), chosen by dev F1 among
%s.

| dev F1 | test F1 (CoNLL words) | raw text, sentences | raw text, 10-sentence paragraphs |
|---|---|---|---|
| %s | %s | %s | %s |

Raw-text columns: `+"`openmed eval-text`"+` (raw text in, default settings, exact character spans).
%d epochs (best %d), %d steps, %.0f minutes, %d trainable parameters.
%s
Use it through default.json (base %s + %s); alone on %s it lacks the DAPT delta.

Command: `+"`openmed %s`"+`
`, ch.Folder, ch.Name, ch.Corpus, ac.R, ac.LoraAlpha, strings.Join(ac.TargetModules, "/"), so.Encoder, baseAdapter, baseAdapter,
		strings.Join(ch.Considered, ", "), pct(m.Dev.Micro.F1), test, raw("1"), raw("10"),
		m.Epochs, m.BestEpoch, m.Steps, m.WallSeconds/60, m.TrainableParams, retyped,
		so.Encoder, baseAdapter, so.Encoder, strings.Join(p.Train, " ")), nil
}

func readJSONFile(p string, v any) error {
	b, err := os.ReadFile(p)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", p, err)
	}
	return nil
}

func sortedKeys(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
