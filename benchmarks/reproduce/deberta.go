package main

import (
	"github.com/openmed/openmed/training"
	"github.com/openmed/openmed/training/dapt"
)

// DeBERTaCorpora are the corpora the optional DeBERTa comparison (issue #8,
// --deberta) fine-tunes: the shipped disease tagger's corpus and the largest
// gene corpus of the grid.
var DeBERTaCorpora = []string{"NCBI-Disease", "BC2GM"}

// Job names of the DeBERTa encoders.
const (
	// PretrainDeBERTaJob pre-trains the DeBERTa-v3-shaped encoder.
	PretrainDeBERTaJob = "pretrain-deberta"
	// RandInitDeBERTaJob saves its random initialisation.
	RandInitDeBERTaJob = "randinit-deberta"
)

// debertaSuffix ends the names of the DeBERTa fine-tuning jobs.
const debertaSuffix = "-deberta"

// DeBERTa configures the optional second encoder of the reproduction: a
// small DeBERTa-v3-shaped encoder (dapt.ArchDeBERTaV3) pre-trained with the
// BERT recipe (same shape, text, PubMedBERT WordPiece vocabulary, budget and
// optimiser), so the comparison with the BERT rows is about the
// architecture only. Off by default: the BERT grid is unchanged without it.
type DeBERTa struct {
	// Enabled adds pretrain-deberta, randinit-deberta and
	// <corpus>/<method>-<init>-deberta for DeBERTaCorpora (--deberta).
	Enabled bool
	// TokensPerSec is the pre-training throughput estimate that turns the
	// recipe's minutes into epochs (Recipe.TokensPerSec for DeBERTa).
	TokensPerSec float64
	// TokensPerSecLoRA and TokensPerSecFull are the fine-tuning throughput
	// estimates of the per-job cap (FineTune's, for DeBERTa).
	TokensPerSecLoRA, TokensPerSecFull float64
}

// DefaultDeBERTa is off, with throughput estimates scaled from the BERT
// recipe's by the DeBERTa/BERT time-per-token ratios measured on this
// (loaded, 2-core) machine at the recipe's shape (4 × 256, FFN 1024,
// PubMedBERT vocabulary, 128-token blocks, batch 16): masked-LM
// pre-training 1.06–1.31× (four pairs, one and two threads; 1.25 taken),
// fine-tuning 1.0× (LoRA) and 1.05× (full) — at this size the FFN, the
// vocabulary-wide MLM softmax and the optimiser dominate, and DeBERTa's
// extra c2p/p2c attention terms add little.
func DefaultDeBERTa() DeBERTa {
	const pretrainSlowdown, ftSlowdown = 1.25, 1.05
	bert, ft := DefaultRecipe(), DefaultFineTune()
	return DeBERTa{TokensPerSec: round10(bert.TokensPerSec / pretrainSlowdown),
		TokensPerSecLoRA: round10(ft.TokensPerSecLoRA / ftSlowdown), TokensPerSecFull: round10(ft.TokensPerSecFull / ftSlowdown)}
}

func round10(v float64) float64 { return float64(int(v/10+0.5) * 10) }

// recipe is the pre-training recipe of an encoder family: o.Pretrain for
// BERT; for DeBERTa the same recipe with Arch deberta-v3, no position init
// (DeBERTa-v3 has no absolute position table) and the DeBERTa throughput
// estimate.
func (o Options) recipe(arch dapt.ScratchArch) Recipe {
	r := o.Pretrain
	if arch != dapt.ArchDeBERTaV3 {
		return r
	}
	r.Scratch.Arch = dapt.ArchDeBERTaV3
	r.Scratch.PositionInit = ""
	r.TokensPerSec = o.DeBERTa.TokensPerSec
	return r
}

// ftRate is the fine-tuning throughput estimate of job j's method and
// encoder family.
func (o Options) ftRate(j Job, method training.Method) float64 {
	lora, full := o.FT.TokensPerSecLoRA, o.FT.TokensPerSecFull
	if j.Arch == dapt.ArchDeBERTaV3 {
		lora, full = o.DeBERTa.TokensPerSecLoRA, o.DeBERTa.TokensPerSecFull
	}
	if method == training.MethodFull {
		return full
	}
	return lora
}

// DeBERTaFineTuneName is the job name of a DeBERTa fine-tuning run,
// "<corpus>/<method>-<init>-deberta".
func DeBERTaFineTuneName(corpus, method string, init Init) string {
	return FineTuneName(corpus, method, init) + debertaSuffix
}

// debertaJobs are the DeBERTa encoders and the fine-tuning jobs of the
// selected corpora that are in DeBERTaCorpora (run order kept).
func debertaJobs(o Options, corpora []string) (enc, ft []Job) {
	enc = []Job{{Name: PretrainDeBERTaJob, Kind: KindPretrain, Arch: dapt.ArchDeBERTaV3},
		{Name: RandInitDeBERTaJob, Kind: KindRandomInit, Arch: dapt.ArchDeBERTaV3}}
	for _, c := range corpora {
		if !contains(DeBERTaCorpora, c) {
			continue
		}
		for _, m := range o.Methods {
			for _, in := range o.Inits {
				dep := PretrainDeBERTaJob
				if in == InitRandom {
					dep = RandInitDeBERTaJob
				}
				ft = append(ft, Job{Name: DeBERTaFineTuneName(c, m, in), Kind: KindDeBERTaFineTune, Corpus: c, Method: m, Init: in,
					Arch: dapt.ArchDeBERTaV3, Deps: []string{dep}})
			}
		}
	}
	return enc, ft
}

// SaveRandomInitDeBERTa is SaveRandomInit for the DeBERTa recipe's encoder
// (s.Arch set to dapt.ArchDeBERTaV3): an HF DebertaV2ForMaskedLM folder, the
// "random init" side of the DeBERTa comparison.
func SaveRandomInitDeBERTa(out, tokDir string, s dapt.Scratch, seed uint64) error {
	s.Arch = dapt.ArchDeBERTaV3
	return dapt.SaveRandomInit(out, tokDir, s, seed)
}
