package training

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/openmed/openmed/core/checkpoint"
	"github.com/openmed/openmed/core/lora"
	"github.com/openmed/openmed/core/model"
	"github.com/openmed/openmed/training/loop"
	"github.com/openmed/openmed/training/loss"
	"github.com/openmed/openmed/training/optim"
)

// fixtureObjective is one fixed batch with label-smoothed cross-entropy.
type fixtureObjective struct {
	m      *model.Model
	b      *model.Batch
	labels []int32
	losses []float64
}

func (o *fixtureObjective) Batches(int) int { return 1 }

func (o *fixtureObjective) Step(int, int) (loop.StepStats, error) {
	lg, err := o.m.Forward(o.b)
	if err != nil {
		return loop.StepStats{}, err
	}
	d := make([]float32, len(lg.Data))
	l, _, err := loss.CrossEntropyChecked(lg.Data, o.b.Tokens(), lg.Shape[2], o.labels, 0.1, d)
	if err != nil {
		return loop.StepStats{}, err
	}
	o.losses = append(o.losses, float64(l))
	return loop.StepStats{Loss: float64(l), Tokens: o.b.Tokens()}, o.m.Backward(d)
}

func (o *fixtureObjective) Evaluate() (*loop.EvalStats, error) { return nil, nil }

// One loop.Run step on the PEFT LoRA fixture (eval-mode forward, label
// smoothing 0.1, torch AdamW lr 1e-3 wd 0.01, constant schedule, no
// clipping) reproduces PEFT + torch's loss and updated adapter parameters.
func TestLoopStepMatchesPEFTFixture(t *testing.T) {
	fix := filepath.Join(sharedDir(t), "fixtures", "bert")
	lj := readLoRAFixture(t, fix)
	// The fixture's forward is in eval mode: a copy of the base with dropout 0
	// makes our training-mode step the same function.
	cfg, err := checkpoint.LoadConfig(fix)
	require.NoError(t, err)
	cfg.HiddenDropoutProb, cfg.AttentionProbsDropoutProb = 0, 0
	base := t.TempDir()
	require.NoError(t, cfg.Save(filepath.Join(base, "config.json")))
	w, err := checkpoint.ReadSafetensors(filepath.Join(fix, "model.safetensors"))
	require.NoError(t, err)
	require.NoError(t, checkpoint.WriteSafetensors(filepath.Join(base, "model.safetensors"), w, nil))
	labels, err := NewLabelSet(cfg.Labels())
	require.NoError(t, err)
	m, _, err := LoadBase(base, labels, 1)
	require.NoError(t, err)
	ad, err := lora.Load(m, filepath.Join(fix, "adapter"))
	require.NoError(t, err)

	obj := &fixtureObjective{m: m}
	obj.b, obj.labels = lj.batch()
	require.Len(t, obj.labels, len(obj.b.InputIDs), "lora.json inputs.labels")
	_, err = loop.Run(context.Background(), loop.Config{Model: m, Adapter: ad, Epochs: 1, LR: 1e-3, WeightDecay: 0.01,
		Schedule: optim.ScheduleConstant, Dir: t.TempDir()}, obj)
	require.NoError(t, err)
	require.Len(t, obj.losses, 1)
	require.InDelta(t, lj.Loss, obj.losses[0], 1e-5) // mean CE over 24 tokens of logits within ~5e-6 of HF's (core/lora's parity check)
	sd := ad.StateDict()
	require.Len(t, sd, len(lj.Updated))
	for k, want := range lj.Updated {
		got := sd[k]
		require.NotNil(t, got, k)
		require.Len(t, got.Data, len(want.Data), k)
		for i, v := range want.Data {
			// Bias decay differs (HF Trainer's no-decay group vs the fixture's
			// single group) by |bias|·lr·wd ≤ 1e-5, inside the tolerance.
			require.InDelta(t, v, got.Data[i], 1e-4, "%s[%d]", k, i)
		}
	}
}
