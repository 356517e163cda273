package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/openmed/openmed/core/tensor"
	"github.com/openmed/openmed/training"
)

func TestEpochCap(t *testing.T) {
	n, why := epochCap(10, 150, 230, 200_000)
	assert.Equal(t, 10, n, "150 min at 230 tok/s is 2.07M tokens: 10 epochs of 200k fit")
	assert.Empty(t, why)
	n, why = epochCap(10, 150, 230, 600_000)
	assert.Equal(t, 3, n)
	assert.Contains(t, why, "150-minute cap")
	n, _ = epochCap(10, 1, 1, 600_000)
	assert.Equal(t, 1, n, "at least one epoch")
}

func TestGrid(t *testing.T) {
	jobs := AllJobs()
	main, abl := 0, 0
	seen := map[string]bool{}
	for _, j := range jobs {
		require.False(t, seen[j.Name()], j.Name())
		seen[j.Name()] = true
		if j.Variant.Ablation {
			abl++
			assert.Contains(t, AblationCorpora, j.Corpus)
		} else {
			main++
		}
	}
	assert.Equal(t, 2*len(Encoders)*len(Corpora), main)
	assert.Equal(t, len(Encoders)*len(AblationCorpora)*4, abl)
	assert.True(t, strings.HasPrefix(jobs[0].Name(), "all-minilm-l6-v2/"), "cheapest encoder first")
	j := Job{Encoder: Encoders[0], Corpus: "NCBI-Disease", Variant: Variants[0]}
	assert.Equal(t, filepath.Join("w", "dapt-all-minilm-l6-v2"), j.Base("w"))
	j.Variant = variant(t, "lora-nodapt")
	assert.Equal(t, "all-minilm-l6-v2", j.Base("w"))
}

func TestLock(t *testing.T) {
	dir := t.TempDir()
	unlock, err := lock(dir)
	require.NoError(t, err)
	_, err = lock(dir)
	assert.ErrorContains(t, err, "being run by process")
	unlock()
	require.NoError(t, os.WriteFile(filepath.Join(dir, lockFile), []byte("999999999\n"), 0o644))
	unlock, err = lock(dir)
	require.NoError(t, err, "a dead process's lock is taken over")
	unlock()
}

// variant returns the Variants entry named name.
func variant(t *testing.T, name string) Variant {
	t.Helper()
	for _, v := range Variants {
		if v.Name == name {
			return v
		}
	}
	t.Fatalf("no variant %q", name)
	return Variant{}
}

// -only is an ordered queue of globs; each job is taken once.
func TestSelectedOrder(t *testing.T) {
	o := Options{Only: "bert-base-cased/NCBI-Disease/lora-mixed, */BC5CDR-Chem/lora,bert-base-cased/NCBI-Disease/*"}
	var names []string
	for _, j := range selected(o) {
		names = append(names, j.Name())
	}
	require.GreaterOrEqual(t, len(names), 4)
	assert.Equal(t, []string{"bert-base-cased/NCBI-Disease/lora-mixed", "all-minilm-l6-v2/BC5CDR-Chem/lora",
		"bert-base-cased/BC5CDR-Chem/lora", "bert-base-cased/NCBI-Disease/lora"}, names[:4])
	seen := map[string]bool{}
	for _, n := range names {
		require.False(t, seen[n], n)
		seen[n] = true
	}
	assert.Len(t, selected(Options{}), len(AllJobs()))
}

// TestPlanPrecision: the plan's precision is read from its train command,
// fp32 when the flag is absent.
func TestPlanPrecision(t *testing.T) {
	assert.Equal(t, tensor.FP32, JobPlan{Train: []string{"train", "--threads", "1"}}.Precision())
	assert.Equal(t, tensor.BF16, JobPlan{Train: []string{"train", "--precision", "bf16", "--quiet"}}.Precision())
	plan := func(v Variant, grid tensor.Precision) JobPlan {
		return JobPlan{Train: append([]string{"train"}, v.trainArgs(grid)...)}
	}
	assert.Equal(t, tensor.BF16, plan(variant(t, "lora-bf16"), tensor.FP32).Precision(), "the variant's own precision")
	assert.Equal(t, tensor.FP32, plan(variant(t, "lora"), tensor.FP32).Precision())
	assert.Equal(t, tensor.BF16, plan(variant(t, "lora"), tensor.BF16).Precision(), "the grid's -precision")
	assert.Equal(t, []string{"--packing", "documents"}, variant(t, "lora").trainArgs(tensor.FP32))
	assert.Equal(t, []string{"--full", "--lr", "3e-5", "--precision", "bf16"}, variant(t, "full").trainArgs(tensor.BF16))
	assert.Equal(t, training.PackMixed, variant(t, "lora-nodapt").packing(), "no --packing: the trainer's default")
}

// TestContinueOnHost: a grid job that started in bf16 continues in fp32
// where bf16 is unavailable, recording the switch and the checkpoint step;
// the lora-bf16 variant refuses; nothing changes where bf16 runs.
func TestContinueOnHost(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "checkpoints"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "checkpoints", "latest.json"), []byte(`{"checkpoint":"step-00000975","step":975}`), 0o644))
	noBF16 := errors.New("no bf16 here")
	job := Job{Encoder: Encoder{Name: "e"}, Corpus: "c", Variant: variant(t, "lora-mixed")}
	bf16Plan := func() *JobPlan {
		return &JobPlan{Train: append([]string{"train"}, job.Variant.trainArgs(tensor.BF16)...)}
	}

	p := bf16Plan()
	require.NoError(t, continueOnHost(p, job, dir, nil))
	assert.Equal(t, tensor.BF16, p.Precision(), "a bf16 host keeps the plan")
	assert.Empty(t, p.Switched)

	require.NoError(t, continueOnHost(p, job, dir, noBF16))
	assert.Equal(t, tensor.FP32, p.Precision())
	require.Len(t, p.Switched, 1)
	assert.Contains(t, p.Switched[0], "bf16 → fp32 from step 975")
	assert.Contains(t, p.Switched[0], "no bf16 here")
	require.NoError(t, continueOnHost(p, job, dir, noBF16))
	assert.Len(t, p.Switched, 1, "an fp32 plan is not switched again")

	own := Job{Encoder: Encoder{Name: "e"}, Corpus: "c", Variant: variant(t, "lora-bf16")}
	p = &JobPlan{Train: append([]string{"train"}, own.Variant.trainArgs(tensor.FP32)...)}
	assert.ErrorIs(t, continueOnHost(p, own, dir, noBF16), noBF16, "lora-bf16 is bf16 by definition")
}

// TestPlanRate: the time cap's rate is the encoder's default (times
// bf16Speedup in bf16) unless -rate gives this host's measured figure; threads multiply
// it and full fine-tuning halves it.
func TestPlanRate(t *testing.T) {
	enc := Encoder{Name: "e", TokensPerSec: 100}
	lora := Job{Encoder: enc, Corpus: "c", Variant: Variant{Name: "lora"}}
	full := Job{Encoder: enc, Corpus: "c", Variant: Variant{Name: "full", Method: training.MethodFull}}
	o := Options{Threads: 1}
	assert.Equal(t, 100.0, planRate(o, lora))
	assert.Equal(t, 50.0, planRate(o, full))
	o.Precision = tensor.BF16
	assert.Equal(t, 100*bf16Speedup, planRate(o, lora))
	o.Rate, o.Threads = 240, 2
	assert.Equal(t, 480.0, planRate(o, lora), "-rate replaces the default, bf16 included")
	assert.Equal(t, 240.0, planRate(o, full))
}
