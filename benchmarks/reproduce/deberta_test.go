package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/openmed/openmed/core/checkpoint"
	"github.com/openmed/openmed/training/dapt"
)

func jobNames(js []Job) []string {
	var out []string
	for _, j := range js {
		out = append(out, j.Name)
	}
	return out
}

// --deberta is off by default (the BERT grid is unchanged); on, the DeBERTa
// encoders and the NCBI-Disease / BC2GM fine-tuning jobs follow the BERT
// grid, filtered by --only and --jobs like the rest.
func TestGraphDeBERTa(t *testing.T) {
	o := DefaultOptions()
	all, err := Graph(o)
	require.NoError(t, err)
	for _, j := range all {
		assert.NotContains(t, j.Name, "deberta")
	}
	o.DeBERTa.Enabled = true
	all, err = Graph(o)
	require.NoError(t, err)
	require.Len(t, all, 2+len(ShippedTaggers)+10*2*2+2+2*2*2) // encoders, lora-ship per shipped corpus, grid, DeBERTa
	names := jobNames(all)
	assert.Equal(t, []string{"pretrain", "randinit"}, names[:2])
	d := 2 + len(ShippedTaggers) + 10*2*2 // the DeBERTa jobs start after the BERT ones
	assert.Equal(t, []string{PretrainDeBERTaJob, RandInitDeBERTaJob, "NCBI-Disease/lora-pretrained-deberta", "NCBI-Disease/lora-random-deberta",
		"NCBI-Disease/full-pretrained-deberta", "NCBI-Disease/full-random-deberta", "BC2GM/lora-pretrained-deberta"}, names[d:d+7])
	for _, j := range all[d:] {
		assert.Equal(t, dapt.ArchDeBERTaV3, j.Arch, j.Name)
	}
	assert.Equal(t, KindDeBERTaFineTune, all[d+2].Kind)
	assert.Equal(t, []string{PretrainDeBERTaJob}, all[d+2].Deps)
	assert.Equal(t, []string{RandInitDeBERTaJob}, all[d+3].Deps)

	o.Corpora = []string{"CLL"} // not a DeBERTa corpus: no DeBERTa job
	js, err := Graph(o)
	require.NoError(t, err)
	assert.Equal(t, []string{"pretrain", "randinit", "CLL/lora-pretrained", "CLL/lora-random", "CLL/full-pretrained", "CLL/full-random"}, jobNames(js))

	o.Corpora, o.Jobs = nil, []string{"*/lora-pretrained-deberta"}
	js, err = Graph(o)
	require.NoError(t, err)
	assert.Equal(t, []string{PretrainDeBERTaJob, "NCBI-Disease/lora-pretrained-deberta", "BC2GM/lora-pretrained-deberta"}, jobNames(js))

	// '*' crosses the corpus/run slash: one glob selects every DeBERTa job.
	o.Jobs = []string{"*deberta*"}
	js, err = Graph(o)
	require.NoError(t, err)
	dnames := jobNames(js)
	assert.Len(t, dnames, 2+2*4, "both DeBERTa encoders and 2 corpora × 4 runs: %v", dnames)
	assert.Contains(t, dnames, "BC2GM/full-random-deberta")
	assert.NotContains(t, dnames, "BC2GM/full-random")

	o.Jobs = []string{PretrainDeBERTaJob}
	js, err = Graph(o)
	require.NoError(t, err)
	assert.Equal(t, []string{PretrainDeBERTaJob}, jobNames(js))

	// The DeBERTa recipe is the BERT one with Arch deberta-v3, no position
	// init and its own throughput estimate.
	r := o.recipe(dapt.ArchDeBERTaV3)
	assert.Equal(t, dapt.ArchDeBERTaV3, r.Scratch.Arch)
	assert.Empty(t, r.Scratch.PositionInit)
	assert.Equal(t, o.Pretrain.Scratch.EmbeddingInit, r.Scratch.EmbeddingInit)
	assert.Equal(t, o.Pretrain.Scratch.Dropout, r.Scratch.Dropout)
	assert.Equal(t, o.DeBERTa.TokensPerSec, r.TokensPerSec)
	assert.Equal(t, dapt.PositionSinusoidal, o.recipe(dapt.ArchBERT).Scratch.PositionInit)
	assert.Less(t, o.DeBERTa.TokensPerSec, o.Pretrain.TokensPerSec)
}

// TestPipelineDeBERTa runs the BERT and the DeBERTa graph on NCBI-Disease
// with a tiny recipe (LoRA, both inits): the DeBERTa encoders are
// DebertaV2ForMaskedLM folders, the DeBERTa runs appear in their own table
// section beside the BERT F1 (Δ and a p-value), and not in the BERT rows.
func TestPipelineDeBERTa(t *testing.T) {
	shared := sharedDir(t)
	data := tinyData(t, shared, 40, "NCBI-Disease")
	work := t.TempDir()
	o := tinyOptions(shared, data, work)
	o.Corpora, o.Methods = []string{"NCBI-Disease"}, []string{"lora"}
	o.FT.MaxEpochs = 1
	o.Pretrain.MaxEpochs = 1
	o.Pretrain.Scratch.PositionInit = dapt.PositionSinusoidal // BERT only; DeBERTa has no absolute positions
	o.DeBERTa.Enabled = true
	rep, err := Run(context.Background(), o, Hooks{})
	require.NoError(t, err)
	require.Empty(t, rep.Failed, "%+v", rep)
	assert.Equal(t, []string{"pretrain", "randinit", "NCBI-Disease/lora-pretrained", "NCBI-Disease/lora-random", PretrainDeBERTaJob,
		RandInitDeBERTaJob, "NCBI-Disease/lora-pretrained-deberta", "NCBI-Disease/lora-random-deberta"}, rep.Ran)
	for _, enc := range []string{PretrainDeBERTaJob, RandInitDeBERTaJob} {
		c, err := checkpoint.LoadConfig(filepath.Join(work, enc))
		require.NoError(t, err)
		assert.Equal(t, checkpoint.ModelDebertaV2, c.ModelType, enc)
		assert.Equal(t, []string{"DebertaV2ForMaskedLM"}, c.Architectures, enc)
	}
	// The commands run the jobs' own configurations (openmed dapt --config).
	jobScratch := func(job string) *dapt.Scratch {
		st := readState(t, work, job)
		file, ok := strings.CutPrefix(st.Command, "bin/openmed dapt --config ")
		require.True(t, ok, st.Command)
		c, err := dapt.ReadConfig(file)
		require.NoError(t, err)
		require.NotNil(t, c.Scratch)
		return c.Scratch
	}
	deb := jobScratch(PretrainDeBERTaJob)
	assert.Equal(t, dapt.ArchDeBERTaV3, deb.Arch)
	assert.NotEqual(t, dapt.PositionSinusoidal, deb.PositionInit)
	assert.Equal(t, dapt.PositionSinusoidal, jobScratch("pretrain").PositionInit)

	md, err := Table(o, nil)
	require.NoError(t, err)
	sec := debertaSection(o)
	require.Contains(t, md, sec, "Table includes the DeBERTa section")
	require.Contains(t, sec, "### DeBERTa-v3-shaped encoder vs BERT")
	assert.Equal(t, 2, countLines(sec, " min | done |"), sec)
	for _, l := range strings.Split(sec, "\n") {
		if strings.HasPrefix(l, "| NCBI-Disease | lora |") {
			c := strings.Split(strings.Trim(l, "|"), "|")
			require.Len(t, c, 15, l)
			assert.NotEqual(t, "pending", strings.TrimSpace(c[3]), l)
			assert.Regexp(t, `^[+-]\d+\.\d\d$`, strings.TrimSpace(c[7]), l)
			assert.Regexp(t, `^\d\.\d{4}\*?$`, strings.TrimSpace(c[8]), l, "p DeBERTa vs BERT")
			assert.Regexp(t, `^\d\.\d{4}\*?$`, strings.TrimSpace(c[9]), l, "p pre-trained vs random, DeBERTa against DeBERTa")
		}
	}
	assert.Contains(t, sec, "| DeBERTa-v3-shaped | done |")
	assert.Contains(t, sec, "DeBERTa MLM curve")
	assert.NotContains(t, strings.Split(md, "### DeBERTa")[0], "deberta |", "DeBERTa runs stay out of the BERT rows")

	// Without --deberta the finished DeBERTa runs still show, with their commands.
	o.DeBERTa.Enabled = false
	sec = debertaSection(o)
	assert.Equal(t, 2, countLines(sec, " min | done |"), sec)
	assert.Contains(t, sec, "DeBERTa commands")
	o.Work = t.TempDir()
	assert.Empty(t, debertaSection(o))
}

// TestPartnerDeBERTa: a DeBERTa run's paired test partner is the DeBERTa run
// of the other init or method, never the BERT one.
func TestPartnerDeBERTa(t *testing.T) {
	j := Job{Name: DeBERTaFineTuneName("BC2GM", "full", InitPretrained), Kind: KindDeBERTaFineTune, Corpus: "BC2GM", Method: "full", Init: InitPretrained}
	other, a, b := partner(j, AxisInit)
	assert.Equal(t, "BC2GM/full-random-deberta", other.Name)
	assert.Equal(t, j.Name, a.Name, "the pre-trained run is A")
	assert.Equal(t, other.Name, b.Name)
	other, _, _ = partner(j, AxisMethod)
	assert.Equal(t, "BC2GM/lora-pretrained-deberta", other.Name)
	bert := FineTuneJob("BC2GM", "full", InitPretrained)
	other, _, _ = partner(bert, AxisInit)
	assert.Equal(t, "BC2GM/full-random", other.Name)
}
