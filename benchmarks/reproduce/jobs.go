package main

import (
	"fmt"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/openmed/openmed/training/dapt"
)

// Kind is what a job does.
type Kind int

const (
	// KindPretrain pre-trains the small encoder from scratch (dapt.Run).
	KindPretrain Kind = iota
	// KindRandomInit saves the random initialisation of the same encoder.
	KindRandomInit
	// KindFineTune fine-tunes one corpus with one method from one init.
	KindFineTune
	// KindDeBERTaFineTune is KindFineTune from a DeBERTa encoder
	// (pretrain-deberta or randinit-deberta; --deberta). A kind of its own
	// keeps these runs out of the BERT grid's rows and paired tests; the
	// table reports them in their own section (table_deberta.go).
	KindDeBERTaFineTune
	// KindShipFineTune is the shipped taggers' LoRA run (<corpus>/lora-ship,
	// FineTune.Ship's recipe, from the pre-trained encoder).
	KindShipFineTune
)

// String names the kind.
func (k Kind) String() string {
	switch k {
	case KindPretrain:
		return "pretrain"
	case KindRandomInit:
		return "randinit"
	case KindDeBERTaFineTune:
		return "finetune-deberta"
	case KindShipFineTune:
		return "finetune-ship"
	}
	return "finetune"
}

// Job is one node of the pipeline's graph. Name is its stable identity
// (also its folder under the work dir): "pretrain", "randinit" or
// "<corpus>/<method>-<init>".
type Job struct {
	Name   string
	Kind   Kind
	Corpus string
	Method string
	Init   Init
	// Arch is the encoder family the job builds or fine-tunes ("": BERT).
	Arch dapt.ScratchArch
	// Deps are the names of the jobs whose outputs this one reads.
	Deps []string
}

// Dir is the job's folder under the work dir.
func (j Job) Dir(work string) string { return filepath.Join(work, filepath.FromSlash(j.Name)) }

// FineTuneName is the job name of a fine-tuning run.
func FineTuneName(corpus, method string, init Init) string {
	return corpus + "/" + method + "-" + init.String()
}

// selectedCorpora is order (RunOrder or Corpora) restricted to --only.
func (o Options) selectedCorpora(order []string) []string {
	var out []string
	for _, c := range order {
		if len(o.Corpora) == 0 || contains(o.Corpora, c) {
			out = append(out, c)
		}
	}
	return out
}

// wholeGrid is o without the run filters (--only, --jobs, --methods,
// --inits): they choose what an invocation runs, while the table it writes
// afterwards reports the whole grid, so a filtered worker does not shrink
// RESULTS.md to its own jobs.
func (o Options) wholeGrid() Options {
	d := DefaultOptions()
	o.Corpora, o.Jobs, o.Methods, o.Inits = nil, nil, d.Methods, d.Inits
	return o
}

// FineTuneJob is the BERT fine-tuning job of corpus × method × init (its
// Deps are the graph's business).
func FineTuneJob(corpus, method string, init Init) Job {
	return Job{Name: FineTuneName(corpus, method, init), Kind: KindFineTune, Corpus: corpus, Method: method, Init: init}
}

// ShipJobName is the job name of corpus's shipped-tagger run.
func ShipJobName(corpus string) string { return corpus + "/lora-ship" }

// RunOrder is the order corpora are run in: the two shipped taggers'
// corpora first (NCBI-Disease also decides "pre-training beats random
// init"), then the rest from the smallest training set to the largest, so a
// session cut short leaves the most useful rows done.
var RunOrder = []string{"NCBI-Disease", "BC5CDR-Chem", "CLL", "BioNLP13CG", "BC5CDR-Disease", "AnatEM", "S800",
	"Linnaeus", "BC2GM", "JNLPBA"}

// Graph lists the jobs in dependency order: the encoders first (only those
// some selected fine-tuning job needs, or that --jobs names), then corpus ×
// method × init. --only and --jobs filter the fine-tuning jobs; the
// encoders a selected job depends on are always kept. With --deberta the
// DeBERTa encoders and fine-tuning jobs (DeBERTaCorpora only) follow the
// whole BERT grid, selected by the same rules.
func Graph(o Options) ([]Job, error) {
	corpora := o.selectedCorpora(RunOrder)
	var ft []Job
	for _, c := range corpora {
		for _, m := range o.Methods {
			for _, in := range o.Inits {
				dep := "pretrain"
				if in == InitRandom {
					dep = "randinit"
				}
				j := FineTuneJob(c, m, in)
				j.Deps = []string{dep}
				ft = append(ft, j)
			}
		}
	}
	if o.FT.Ship.Enabled && slices.Contains(o.Inits, InitPretrained) {
		// The shipped taggers' runs go first: they unblock models/.
		var ship []Job
		for _, c := range corpora {
			if _, ok := ShippedTaggers[c]; ok {
				ship = append(ship, Job{Name: ShipJobName(c), Kind: KindShipFineTune, Corpus: c, Method: "lora", Init: InitPretrained, Deps: []string{"pretrain"}})
			}
		}
		ft = append(ship, ft...)
	}
	enc := []Job{{Name: "pretrain", Kind: KindPretrain}, {Name: "randinit", Kind: KindRandomInit}}
	groups := [][2][]Job{{enc, ft}}
	if o.DeBERTa.Enabled {
		denc, dft := debertaJobs(o, corpora)
		groups = append(groups, [2][]Job{denc, dft})
	}
	anyFT := false
	for g := range groups {
		if len(o.Jobs) > 0 {
			var keep []Job
			for _, j := range groups[g][1] {
				if ok, err := matchAny(o.Jobs, j.Name); err != nil {
					return nil, err
				} else if ok {
					keep = append(keep, j)
				}
			}
			groups[g][1] = keep
		}
		anyFT = anyFT || len(groups[g][1]) > 0
	}
	var out []Job
	for _, g := range groups {
		enc, ft := g[0], g[1]
		need := map[string]bool{}
		for _, j := range ft {
			for _, d := range j.Deps {
				need[d] = true
			}
		}
		for _, e := range enc {
			named, err := matchAny(o.Jobs, e.Name)
			if err != nil {
				return nil, err
			}
			if need[e.Name] || (len(o.Jobs) > 0 && named) || (len(o.Jobs) == 0 && !anyFT) {
				out = append(out, e)
			}
		}
		out = append(out, ft...)
	}
	return out, nil
}

// matchAny reports whether name matches one of the globs: path.Match
// syntax, except that '*' and '?' also match the '/' between corpus and run,
// so '*deberta*' selects every DeBERTa job, not only the encoders.
func matchAny(globs []string, name string) (bool, error) {
	flat := strings.ReplaceAll(name, "/", jobSep)
	for _, g := range globs {
		ok, err := path.Match(strings.ReplaceAll(g, "/", jobSep), flat)
		if err != nil {
			return false, fmt.Errorf("reproduce: --jobs pattern %q: %w", g, err)
		}
		if ok {
			return true, nil
		}
	}
	return false, nil
}

// jobSep stands in for '/' in job names while matching globs (no corpus or
// run name contains it).
const jobSep = "\x1f"
