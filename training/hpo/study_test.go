package hpo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testConfig is a small minimisation study: TPE after 3 random trials, no pruning.
func testConfig() Config {
	cfg := Config{
		Name:      "test",
		Direction: Minimize,
		Space:     Space{FloatLog("lr", 1e-5, 1e-1), Float("y", -5, 5), Categorical("c", "a", "b", "c"), Int("k", 1, 9, 2)},
		Sampler:   DefaultSamplerConfig(),
		Pruner:    PrunerConfig{Kind: PrunerNone, Median: DefaultMedianPruner()},
	}
	cfg.Sampler.Seed = 11
	cfg.Sampler.TPE.NStartupTrials = 3
	return cfg
}

// testValue is a deterministic objective over testConfig's space.
func testValue(t *Trial) (float64, error) {
	lr, err := t.Float("lr")
	if err != nil {
		return 0, err
	}
	y, err := t.Float("y")
	if err != nil {
		return 0, err
	}
	c, err := t.String("c")
	if err != nil {
		return 0, err
	}
	k, err := t.Int("k")
	if err != nil {
		return 0, err
	}
	u := math.Log10(lr) + 3
	off := map[string]float64{"a": 0, "b": 0.5, "c": 1}[c]
	return u*u + (y-1)*(y-1) + off + float64(k)/10, nil
}

func fastObjective(_ context.Context, t *Trial) (float64, error) { return testValue(t) }

func TestPaperSpaceAndConfigJSONRoundTrip(t *testing.T) {
	cfg := DefaultConfig()
	require.NoError(t, cfg.Validate())
	names := []string{}
	for _, p := range cfg.Space {
		names = append(names, p.Name)
	}
	assert.Equal(t, []string{"learning_rate", "batch_size", "weight_decay", "warmup_ratio", "lora_r", "lora_dropout"}, names)
	lr, _ := cfg.Space.Param(ParamLearningRate)
	assert.True(t, lr.Log)
	assert.Equal(t, [2]float64{1e-5, 5e-4}, [2]float64{lr.Low, lr.High})
	bs, _ := cfg.Space.Param(ParamBatchSize)
	assert.Equal(t, []any{8.0, 16.0, 32.0}, bs.Choices)

	b, err := json.Marshal(cfg)
	require.NoError(t, err)
	var back Config
	require.NoError(t, json.Unmarshal(b, &back))
	require.NoError(t, back.Validate())
	b2, err := json.Marshal(back)
	require.NoError(t, err)
	assert.JSONEq(t, string(b), string(b2))
	assert.Contains(t, string(b), `"kind":"categorical"`)
	assert.Contains(t, string(b), `"direction":"maximize"`)

	bad := []Space{
		{Float("x", 1, 0)},
		{FloatLog("x", 0, 1)},
		{Float("x", 0, 1), Float("x", 0, 2)},
		{Int("k", 0, 10, 3)},
		{Categorical("c")},
		{Categorical("c", []int{1})},
		{},
	}
	for i, s := range bad {
		assert.Error(t, s.Validate(), "case %d", i)
	}
}

func TestStudyCreateOpen(t *testing.T) {
	dir := t.TempDir()
	s, err := Create(dir, testConfig())
	require.NoError(t, err)
	_, err = Create(dir, testConfig())
	require.NoError(t, err, "Create is idempotent for the same config")
	other := testConfig()
	other.Sampler.Seed = 99
	_, err = Create(dir, other)
	require.ErrorContains(t, err, "different config")
	require.ErrorIs(t, err, ErrConfigMismatch)
	o, err := Open(dir)
	require.NoError(t, err)
	assert.Equal(t, s.Config().Space, o.Config().Space)
	_, err = Open(t.TempDir())
	assert.Error(t, err)
}

func TestOptimizeSequentialIsReproducible(t *testing.T) {
	run := func() []FrozenTrial {
		s, err := Create(t.TempDir(), testConfig())
		require.NoError(t, err)
		require.NoError(t, s.Optimize(context.Background(), fastObjective, RunOptions{NTrials: 8}))
		trials, err := s.Trials()
		require.NoError(t, err)
		return trials
	}
	a, b := run(), run()
	require.Len(t, a, 8)
	for i := range a {
		assert.Equal(t, i, a[i].Number)
		assert.Equal(t, StateComplete, a[i].State)
		assert.Equal(t, a[i].Params, b[i].Params, "trial %d", i)
		assert.Equal(t, *a[i].Value, *b[i].Value)
	}
	// The study log agrees with an in-memory run of the same sampler.
	smp, err := testConfig().Sampler.New()
	require.NoError(t, err)
	mem := runInMemory(t, smp, testConfig().Space, Minimize, func(p map[string]any) float64 {
		v, err := testValue(&Trial{frozen: FrozenTrial{Params: p}})
		require.NoError(t, err)
		return v
	}, 8)
	for i := range a {
		assert.Equal(t, mem[i].Params, a[i].Params, "trial %d", i)
	}
}

func TestOptimizeGoroutineWorkers(t *testing.T) {
	s, err := Create(t.TempDir(), testConfig())
	require.NoError(t, err)
	var running, peak atomic.Int32
	obj := func(ctx context.Context, tr *Trial) (float64, error) {
		n := running.Add(1)
		defer running.Add(-1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(15 * time.Millisecond)
		return testValue(tr)
	}
	var mu sync.Mutex
	var progress []Progress
	err = s.Optimize(context.Background(), obj, RunOptions{NTrials: 12, Workers: 4, Progress: func(p Progress) {
		mu.Lock()
		progress = append(progress, p)
		mu.Unlock()
	}})
	require.NoError(t, err)
	trials, err := s.Trials()
	require.NoError(t, err)
	require.Len(t, trials, 12)
	for i, tr := range trials {
		assert.Equal(t, i, tr.Number)
		assert.Equal(t, StateComplete, tr.State)
		assert.Equal(t, 1, tr.Attempt)
	}
	assert.Greater(t, peak.Load(), int32(1), "trials ran concurrently")
	// Progress: 12 starts and 12 finishes; the last finish sees everything done.
	starts, finishes := 0, 0
	for _, p := range progress {
		switch p.Event {
		case ProgressStarted:
			starts++
		case ProgressFinished:
			finishes++
		}
		assert.Equal(t, 12, p.Total)
		assert.LessOrEqual(t, p.Done+p.Running, 12)
	}
	assert.Equal(t, 12, starts)
	assert.Equal(t, 12, finishes)
	best, ok, err := s.Best()
	require.NoError(t, err)
	require.True(t, ok)
	maxDone := 0
	for _, p := range progress {
		maxDone = max(maxDone, p.Done)
		if p.Best != nil {
			assert.GreaterOrEqual(t, *p.Best.Value, *best.Value)
		}
	}
	assert.Equal(t, 12, maxDone)
	sawETA := false
	for _, p := range progress {
		if p.Event == ProgressFinished && p.Done < p.Total && p.ETA > 0 {
			sawETA = true
			// ETA extrapolates the finishing rate: elapsed/finished × remaining.
			assert.InDelta(t, float64(p.Elapsed)/float64(p.Done)*float64(p.Total-p.Done), float64(p.ETA), float64(p.Elapsed))
		}
	}
	assert.True(t, sawETA, "an ETA is estimated once trials finish")
	for _, tr := range trials {
		assert.GreaterOrEqual(t, *tr.Value, *best.Value)
	}
}

func TestOptimizePruningAndFailures(t *testing.T) {
	cfg := testConfig()
	cfg.Pruner = PrunerConfig{Kind: PrunerMedian, Median: MedianPruner{NStartupTrials: 2, IntervalSteps: 1, NMinTrials: 1}}
	s, err := Create(t.TempDir(), cfg)
	require.NoError(t, err)
	const epochs = 4
	obj := func(ctx context.Context, tr *Trial) (float64, error) {
		if tr.Number() == 5 {
			return 0, errors.New("out of memory (simulated)")
		}
		if tr.Number() == 6 {
			return math.NaN(), nil
		}
		v, err := testValue(tr)
		if err != nil {
			return 0, err
		}
		for e := 0; e < epochs; e++ {
			cur := v + float64(epochs-e) // a loss falling to v
			if err := tr.Report(e, cur); err != nil {
				return 0, err
			}
			prune, err := tr.ShouldPrune()
			if err != nil {
				return 0, err
			}
			if prune {
				return 0, fmt.Errorf("epoch %d: %w", e, ErrPruned)
			}
		}
		return v, nil
	}
	require.NoError(t, s.Optimize(context.Background(), obj, RunOptions{NTrials: 16}))
	trials, err := s.Trials()
	require.NoError(t, err)
	require.Len(t, trials, 16)
	states := map[TrialState]int{}
	for _, tr := range trials {
		states[tr.State]++
		switch tr.State {
		case StatePruned:
			last, ok := tr.LastStep()
			require.True(t, ok)
			require.NotNil(t, tr.Value)
			assert.Equal(t, last.Value, *tr.Value, "a pruned trial's value is its last intermediate value")
			assert.Less(t, last.Step, epochs)
		case StateComplete:
			assert.Len(t, tr.Intermediate, epochs)
		}
	}
	assert.Equal(t, StateFailed, trials[5].State)
	assert.Contains(t, trials[5].Error, "out of memory")
	assert.Equal(t, StateFailed, trials[6].State)
	assert.Contains(t, trials[6].Error, "NaN")
	assert.Greater(t, states[StatePruned], 0, "the median pruner stopped some hopeless trials")
	assert.Greater(t, states[StateComplete], 2)
	assert.Equal(t, 16, states[StatePruned]+states[StateComplete]+states[StateFailed])
}

func TestOptimizeCancelLeavesTrialForResume(t *testing.T) {
	dir := t.TempDir()
	s, err := Create(dir, testConfig())
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	obj := func(ctx context.Context, tr *Trial) (float64, error) {
		if tr.Number() == 2 {
			cancel()
			<-ctx.Done()
			return 0, ctx.Err()
		}
		return testValue(tr)
	}
	err = s.Optimize(ctx, obj, RunOptions{NTrials: 5})
	require.ErrorIs(t, err, context.Canceled)
	before, err := s.Trials()
	require.NoError(t, err)
	require.Len(t, before, 3)
	require.Equal(t, StateRunning, before[2].State)

	s2, err := Open(dir)
	require.NoError(t, err)
	sum, err := s2.Summary()
	require.NoError(t, err)
	assert.Equal(t, Summary{Trials: 3, Complete: 2, Running: 1, Orphaned: 1, Best: sum.Best}, sum)
	require.NotNil(t, sum.Best)
	best, ok := bestTrial(Minimize, before)
	require.True(t, ok)
	assert.Equal(t, best.Number, sum.Best.Number)
	var calls []int
	err = s2.Optimize(context.Background(), func(ctx context.Context, tr *Trial) (float64, error) {
		calls = append(calls, tr.Number())
		if tr.Number() == 2 {
			assert.Equal(t, before[2].Params, tr.Params())
			assert.Equal(t, 2, tr.Attempt())
		}
		return testValue(tr)
	}, RunOptions{NTrials: 5})
	require.NoError(t, err)
	assert.Equal(t, []int{2, 3, 4}, calls)
	after, err := s2.Trials()
	require.NoError(t, err)
	require.Len(t, after, 5)
	for i := 0; i < 2; i++ {
		assert.Equal(t, before[i], after[i], "finished trials are untouched")
	}
}

func TestEventLogTornLastLine(t *testing.T) {
	dir := t.TempDir()
	s, err := Create(dir, testConfig())
	require.NoError(t, err)
	require.NoError(t, s.Optimize(context.Background(), fastObjective, RunOptions{NTrials: 3}))
	path := filepath.Join(dir, LogFile)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	require.NoError(t, err)
	_, err = f.WriteString(`{"event":"finish","trial":1,"attempt":1,"state":"fai`)
	require.NoError(t, err)
	require.NoError(t, f.Close())

	evs, info, err := ReadEvents(path)
	require.NoError(t, err)
	assert.Len(t, info.Torn, 1)
	trials, err := Replay(evs)
	require.NoError(t, err)
	require.Len(t, trials, 3)
	assert.Equal(t, StateComplete, trials[1].State, "the torn line is ignored")

	// Resuming appends after a newline, so later events are intact.
	require.NoError(t, s.Optimize(context.Background(), fastObjective, RunOptions{NTrials: 5}))
	evs, info, err = ReadEvents(path)
	require.NoError(t, err)
	assert.Len(t, info.Torn, 1)
	trials, err = Replay(evs)
	require.NoError(t, err)
	require.Len(t, trials, 5)
	for _, tr := range trials {
		assert.Equal(t, StateComplete, tr.State)
	}

	// A well-formed line with bad fields is an error naming the line.
	require.NoError(t, os.WriteFile(path, []byte(`{"event":"start","trial":0,"attempt":1,"time":"2026-01-01T00:00:00Z"}`+"\n"), 0o644))
	_, _, err = ReadEvents(path)
	require.ErrorContains(t, err, LogFile+":1")
}

func TestReplayAttempts(t *testing.T) {
	one, two := 1.0, 2.0
	step := 0
	p := map[string]any{"x": 0.5}
	evs := []Event{
		{Kind: EventStart, Trial: 0, Attempt: 1, Params: p, Worker: "w1"},
		{Kind: EventReport, Trial: 0, Attempt: 1, Step: &step, Value: &one},
		{Kind: EventStart, Trial: 0, Attempt: 2, Params: p, Worker: "w2"},
		{Kind: EventReport, Trial: 0, Attempt: 1, Step: &step, Value: &two}, // stale attempt
		{Kind: EventFinish, Trial: 0, Attempt: 2, State: StateComplete, Value: &two},
	}
	trials, err := Replay(evs)
	require.NoError(t, err)
	require.Len(t, trials, 1)
	assert.Equal(t, 2, trials[0].Attempt)
	assert.Equal(t, "w2", trials[0].Worker)
	assert.Empty(t, trials[0].Intermediate, "the dead attempt's curve is dropped")
	assert.Equal(t, 2.0, *trials[0].Value)

	_, err = Replay(append(evs, Event{Kind: EventStart, Trial: 0, Attempt: 3, Params: p}))
	assert.ErrorContains(t, err, "after it finished")
	_, err = Replay([]Event{{Kind: EventReport, Trial: 4, Attempt: 1, Step: &step, Value: &one}})
	assert.ErrorContains(t, err, "unknown trial 4")
}

func TestOptimizeStopsOnLogError(t *testing.T) {
	dir := t.TempDir()
	s, err := Create(dir, testConfig())
	require.NoError(t, err)
	obj := func(ctx context.Context, tr *Trial) (float64, error) {
		if tr.Number() == 1 {
			// Corrupt the log: a well-formed event for an unknown trial.
			f, err := os.OpenFile(filepath.Join(dir, LogFile), os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				return 0, err
			}
			defer f.Close()
			if _, err := f.WriteString(`{"event":"report","trial":77,"attempt":1,"time":"2026-01-01T00:00:00Z","step":0,"value":1}` + "\n"); err != nil {
				return 0, err
			}
		}
		return testValue(tr)
	}
	err = s.Optimize(context.Background(), obj, RunOptions{NTrials: 6, Workers: 2})
	require.ErrorContains(t, err, "unknown trial 77")
	_, err = s.Trials()
	assert.ErrorContains(t, err, "unknown trial 77")
	_, err = s.Summary()
	assert.Error(t, err)
}

func TestOptimizeArguments(t *testing.T) {
	s, err := Create(t.TempDir(), testConfig())
	require.NoError(t, err)
	assert.Error(t, s.Optimize(context.Background(), nil, RunOptions{NTrials: 1}))
	assert.Error(t, s.Optimize(context.Background(), fastObjective, RunOptions{}))
	// A panicking objective fails its trial, not the study.
	err = s.Optimize(context.Background(), func(ctx context.Context, tr *Trial) (float64, error) {
		if tr.Number() == 0 {
			panic("boom")
		}
		return testValue(tr)
	}, RunOptions{NTrials: 2})
	require.NoError(t, err)
	trials, err := s.Trials()
	require.NoError(t, err)
	require.Len(t, trials, 2)
	assert.Equal(t, StateFailed, trials[0].State)
	assert.Contains(t, trials[0].Error, "boom")
	assert.Equal(t, StateComplete, trials[1].State)
}

func TestEnqueue(t *testing.T) {
	dir := t.TempDir()
	s, err := Create(dir, testConfig())
	require.NoError(t, err)
	full := map[string]any{"lr": 1e-3, "y": 1.0, "c": "a", "k": 3}
	n0, err := s.Enqueue(full)
	require.NoError(t, err)
	n1, err := s.Enqueue(map[string]any{"c": "c"})
	require.NoError(t, err)
	assert.Equal(t, []int{0, 1}, []int{n0, n1})
	_, err = s.Enqueue(map[string]any{"nope": 1})
	assert.ErrorContains(t, err, `"nope"`)
	_, err = s.Enqueue(map[string]any{"c": "z"})
	assert.Error(t, err)
	_, err = s.Enqueue(map[string]any{"k": 4})
	assert.ErrorContains(t, err, "grid")
	fs, err := Create(t.TempDir(), Config{Direction: Minimize, Space: Space{FloatStep("f", 0, 1, 0.1)},
		Sampler: SamplerConfig{Kind: SamplerRandom}, Pruner: PrunerConfig{Kind: PrunerNone, Median: DefaultMedianPruner()}})
	require.NoError(t, err)
	_, err = fs.Enqueue(map[string]any{"f": 0.1 * 3}) // 0.30000000000000004: snapped to the grid
	require.NoError(t, err)
	ft, err := fs.Trials()
	require.NoError(t, err)
	assert.InDelta(t, 0.3, ft[0].Params["f"].(float64), 1e-15)
	sum, err := s.Summary()
	require.NoError(t, err)
	assert.Equal(t, 2, sum.Waiting)

	require.NoError(t, s.Optimize(context.Background(), fastObjective, RunOptions{NTrials: 5}))
	trials, err := s.Trials()
	require.NoError(t, err)
	require.Len(t, trials, 5, "enqueued trials count towards the budget")
	assert.Equal(t, map[string]any{"lr": 1e-3, "y": 1.0, "c": "a", "k": 3.0}, trials[0].Params)
	assert.Equal(t, "c", trials[1].Params["c"], "the fixed parameter is kept")
	for _, name := range []string{"lr", "y", "k"} {
		assert.Contains(t, trials[1].Params, name, "the others are sampled")
	}
	for _, tr := range trials {
		assert.Equal(t, StateComplete, tr.State)
		assert.Equal(t, 1, tr.Attempt)
	}
	// Enqueued after trials exist: runs next, beyond the previous budget.
	n5, err := s.Enqueue(map[string]any{"y": -2.0})
	require.NoError(t, err)
	assert.Equal(t, 5, n5)
	require.NoError(t, s.Optimize(context.Background(), fastObjective, RunOptions{NTrials: 5}))
	trials, err = s.Trials()
	require.NoError(t, err)
	require.Len(t, trials, 6)
	assert.Equal(t, -2.0, trials[5].Params["y"])
	assert.Equal(t, StateComplete, trials[5].State)
}
