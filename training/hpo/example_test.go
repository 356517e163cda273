package hpo_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/openmed/openmed/training/hpo"
)

// The paper's search (§3.4): 40 TPE trials over PaperSpace maximising dev F1, pruned by
// the median rule after each epoch, recorded durably in a study directory. Running the
// same program again (or several copies at once) resumes / shares the study.
func Example() {
	dir, err := os.MkdirTemp("", "study")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	study, err := hpo.Create(dir, hpo.DefaultConfig())
	if err != nil {
		log.Fatal(err)
	}
	objective := func(ctx context.Context, t *hpo.Trial) (float64, error) {
		lr, err := t.Float(hpo.ParamLearningRate)
		if err != nil {
			return 0, err
		}
		batch, err := t.Int(hpo.ParamBatchSize)
		if err != nil {
			return 0, err
		}
		f1 := 0.0
		for epoch := 0; epoch < 3; epoch++ {
			f1 = trainOneEpoch(lr, batch, epoch) // the trainer's dev F1 after this epoch
			if err := t.Report(epoch, f1); err != nil {
				return 0, err
			}
			if prune, err := t.ShouldPrune(); err != nil || prune {
				return f1, hpo.ErrPruned
			}
		}
		return f1, nil
	}
	opts := hpo.DefaultRunOptions() // 40 trials, as the paper
	opts.NTrials = 10               // keep the example quick
	opts.Progress = func(p hpo.Progress) {
		if p.Event == hpo.ProgressFinished {
			_ = fmt.Sprintf("%d/%d done, eta %s", p.Done, p.Total, p.ETA)
		}
	}
	if err := study.Optimize(context.Background(), objective, opts); err != nil {
		log.Fatal(err)
	}
	best, ok, err := study.Best()
	if err != nil || !ok {
		log.Fatal("no complete trial", err)
	}
	fmt.Println(len(best.Params), "parameters in the best trial")
	// Output: 6 parameters in the best trial
}

func trainOneEpoch(lr float64, batch, epoch int) float64 {
	return float64(epoch+1) / 3 * (1 - 1e3*lr*lr*1e3 - float64(batch)/1000)
}
