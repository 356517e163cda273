package main

import (
	"fmt"
	"path/filepath"
	"strconv"

	"github.com/openmed/openmed/core/tensor"
	"github.com/openmed/openmed/training"
)

// Corpora are the ten shared corpora, in the table's order.
var Corpora = []string{"AnatEM", "BC2GM", "BC5CDR-Chem", "BC5CDR-Disease", "BioNLP13CG",
	"CLL", "JNLPBA", "Linnaeus", "NCBI-Disease", "S800"}

// AblationCorpora get the ablation variants (issue 18).
var AblationCorpora = []string{"NCBI-Disease", "BC5CDR-Chem", "BC2GM"}

// Encoder is a real encoder of the grid with its fine-tuning budget.
type Encoder struct {
	// Name is the encoder cache name.
	Name string
	// TokensPerSec is the 1-thread LoRA training rate measured here (MiniLM
	// fine-tuning 2,000 tokens/s, BERT-base DAPT 375) used to cap
	// epochs (full fine-tuning runs at about half of it).
	TokensPerSec float64
}

// Encoders are the grid's encoders: the strongest here and the cheapest.
var Encoders = []Encoder{
	{Name: "all-minilm-l6-v2", TokensPerSec: 2000},
	{Name: "bert-base-cased", TokensPerSec: 350},
}

// Variant is one way of fine-tuning.
type Variant struct {
	// Name is the folder name ("lora", "lora-nodapt", "full", "lora-all").
	Name string
	// DAPT says the run starts from the DAPT'd encoder.
	DAPT bool
	// Method is LoRA (the zero value) or full fine-tuning (--full).
	Method training.Method
	// Packing is the run's --packing; nil leaves the trainer's default
	// (training.DefaultConfig().Packing).
	Packing *training.Packing
	// Precision, when set, is the run's --precision whatever the grid's
	// -precision is.
	Precision *tensor.Precision
	// Args are the other train flags beyond the shared ones.
	Args []string
	// Ablation restricts the variant to AblationCorpora.
	Ablation bool
}

// Variants: the paper's method, then the ablations.
var Variants = []Variant{
	{Name: "lora", DAPT: true, Packing: ptr(training.PackDocuments)},
	// lora-mixed trains on document windows and every sentence alone
	// (--packing mixed, the trainer's default since MiniLM on BC5CDR-Chem
	// went from 75.2 to 80.0 test F1 at equal tokens, 71.8 to 81.1 on raw
	// sentences).
	{Name: "lora-mixed", DAPT: true, Packing: ptr(training.PackMixed)},
	{Name: "lora-nodapt", Ablation: true},
	{Name: "full", DAPT: true, Method: training.MethodFull, Args: []string{"--lr", "3e-5"}, Ablation: true},
	{Name: "lora-all", DAPT: true, Args: []string{"--targets", "query,key,value,dense"}, Ablation: true},
	// lora-bf16 is lora with the Linear products in bf16 (AMX/AVX512-BF16):
	// the precision check of issue 20 (F1 equal to lora's within noise).
	{Name: "lora-bf16", DAPT: true, Packing: ptr(training.PackDocuments), Precision: ptr(tensor.BF16), Ablation: true},
}

func ptr[T any](v T) *T { return &v }

// packing is the windows the variant trains on.
func (v Variant) packing() training.Packing {
	if v.Packing != nil {
		return *v.Packing
	}
	return training.DefaultConfig().Packing
}

// precision is the variant's arithmetic in a grid run with -precision grid.
func (v Variant) precision(grid tensor.Precision) tensor.Precision {
	if v.Precision != nil {
		return *v.Precision
	}
	return grid
}

// trainArgs are the variant's train flags in a grid run with -precision
// grid: --full for full fine-tuning, Args, then --packing and --precision
// when they are not the trainer's defaults.
func (v Variant) trainArgs(grid tensor.Precision) []string {
	var out []string
	if v.Method == training.MethodFull {
		out = append(out, "--full")
	}
	out = append(out, v.Args...)
	if v.Packing != nil {
		out = append(out, "--packing", v.Packing.String())
	}
	if p := v.precision(grid); p != tensor.FP32 {
		out = append(out, "--precision", p.String())
	}
	return out
}

// Job is one fine-tuning run.
type Job struct {
	Encoder Encoder
	Corpus  string
	Variant Variant
}

// Name is the job's identity and folder: <encoder>/<corpus>/<variant>.
func (j Job) Name() string { return j.Encoder.Name + "/" + j.Corpus + "/" + j.Variant.Name }

// Dir is the run folder under work.
func (j Job) Dir(work string) string { return filepath.Join(work, filepath.FromSlash(j.Name())) }

// Base is the encoder the job fine-tunes: the DAPT output or the cache name.
func (j Job) Base(work string) string {
	if j.Variant.DAPT {
		return filepath.Join(work, "dapt-"+j.Encoder.Name)
	}
	return j.Encoder.Name
}

// AllJobs lists the grid, cheapest encoder first, the main variant before
// the ablations.
func AllJobs() []Job {
	var out []Job
	for _, v := range Variants {
		for _, e := range Encoders {
			for _, c := range Corpora {
				if v.Ablation && !contains(AblationCorpora, c) {
					continue
				}
				out = append(out, Job{Encoder: e, Corpus: c, Variant: v})
			}
		}
	}
	return out
}

// epochCap is the epoch count for a job of trainTokens tokens per epoch:
// min(maxEpochs, ⌊minutes·60·rate/trainTokens⌋), at least 1, and why.
func epochCap(maxEpochs int, minutes, rate float64, trainTokens int) (int, string) {
	if trainTokens <= 0 || minutes <= 0 {
		return maxEpochs, ""
	}
	n := int(minutes * 60 * rate / float64(trainTokens))
	if n >= maxEpochs {
		return maxEpochs, ""
	}
	n = max(n, 1)
	return n, fmt.Sprintf("%d epochs (%.0f-minute cap at %.0f tokens/s, %s tokens per epoch)", n, minutes, rate, strconv.Itoa(trainTokens))
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if x == y {
			return true
		}
	}
	return false
}
