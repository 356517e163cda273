// Command peer compares openmed's TPE sampler (training/hpo) with Optuna's
// TPESampler on hpo.BenchmarkProblems (issue 20's HPO peer). It owns the
// problems for both sides:
//
//	peer run   [-trials 60] [-seeds 20]   our samplers; one JSON line per study
//	peer spaces                           the problems' spaces and directions as JSON
//	peer serve                            evaluates {"problem","params"} lines for optuna_peer.py
//
// benchmarks/hpo/peer/run.sh runs both sides and writes the table.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"time"

	"github.com/openmed/openmed/training/hpo"
)

// checkpoints are the trial counts at which the best value so far is reported.
var checkpoints = []int{10, 20, 40, 60, 100}

type studyResult struct {
	Problem string             `json:"problem"`
	Sampler string             `json:"sampler"`
	Seed    uint64             `json:"seed"`
	BestAt  map[string]float64 `json:"best_at"`
	Seconds float64            `json:"seconds"`
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: peer run|spaces|serve [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "run":
		err = runOurs(os.Args[2:])
	case "spaces":
		err = spaces()
	case "serve":
		err = serve()
	default:
		err = fmt.Errorf("unknown mode %q (run, spaces, serve)", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "peer:", err)
		os.Exit(1)
	}
}

func problems() map[string]hpo.Problem {
	m := map[string]hpo.Problem{}
	for _, p := range hpo.BenchmarkProblems() {
		m[p.Name] = p
	}
	return m
}

func spaces() error {
	type entry struct {
		Space     hpo.Space     `json:"space"`
		Direction hpo.Direction `json:"direction"`
	}
	out := map[string]entry{}
	for _, p := range hpo.BenchmarkProblems() {
		out[p.Name] = entry{p.Space, p.Direction}
	}
	return json.NewEncoder(os.Stdout).Encode(out)
}

func serve() error {
	probs := problems()
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<20)
	out := bufio.NewWriter(os.Stdout)
	for in.Scan() {
		var req struct {
			Problem string         `json:"problem"`
			Params  map[string]any `json:"params"`
		}
		if err := json.Unmarshal(in.Bytes(), &req); err != nil {
			return fmt.Errorf("serve: %w", err)
		}
		p, ok := probs[req.Problem]
		if !ok {
			return fmt.Errorf("serve: unknown problem %q", req.Problem)
		}
		fmt.Fprintf(out, "{\"value\":%s}\n", jsonFloat(p.F(req.Params)))
		if err := out.Flush(); err != nil {
			return err
		}
	}
	return in.Err()
}

func jsonFloat(v float64) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func runOurs(args []string) error {
	fs := flag.NewFlagSet("run", flag.ExitOnError)
	trials := fs.Int("trials", 60, "trials per study")
	seeds := fs.Int("seeds", 20, "seeds 0..N-1 per problem and sampler")
	_ = fs.Parse(args)
	mv := hpo.DefaultTPEOptions()
	mv.Parzen.Multivariate = true
	mvn := mv
	mvn.Parzen.NeighbourBandwidths = true
	samplers := []struct {
		name string
		make func(seed uint64) (hpo.Sampler, error)
	}{
		{"openmed-tpe", func(s uint64) (hpo.Sampler, error) { return hpo.NewTPESampler(s, hpo.DefaultTPEOptions()) }},
		{"openmed-tpe-multivariate", func(s uint64) (hpo.Sampler, error) { return hpo.NewTPESampler(s, mv) }},
		{"openmed-tpe-multivariate-neighbour", func(s uint64) (hpo.Sampler, error) { return hpo.NewTPESampler(s, mvn) }},
		{"openmed-random", func(s uint64) (hpo.Sampler, error) { return hpo.RandomSampler{Seed: s}, nil }},
	}
	enc := json.NewEncoder(os.Stdout)
	for _, pr := range hpo.BenchmarkProblems() {
		for _, sm := range samplers {
			for seed := uint64(0); seed < uint64(*seeds); seed++ {
				s, err := sm.make(seed)
				if err != nil {
					return err
				}
				res, err := study(s, pr, *trials)
				if err != nil {
					return fmt.Errorf("%s %s seed %d: %w", pr.Name, sm.name, seed, err)
				}
				res.Problem, res.Sampler, res.Seed = pr.Name, sm.name, seed
				if err := enc.Encode(res); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// study runs a sequential in-memory study (no event log: the sampler alone is timed).
func study(s hpo.Sampler, pr hpo.Problem, n int) (studyResult, error) {
	start := time.Now()
	var hist []hpo.FrozenTrial
	best := math.NaN()
	res := studyResult{BestAt: map[string]float64{}}
	for i := 0; i < n; i++ {
		params, err := s.Sample(pr.Space, pr.Direction, hist, i)
		if err != nil {
			return res, err
		}
		v := pr.F(params)
		hist = append(hist, hpo.FrozenTrial{Number: i, State: hpo.StateComplete, Params: params, Value: &v, Attempt: 1})
		if math.IsNaN(best) || pr.Direction.Better(v, best) {
			best = v
		}
		for _, c := range checkpoints {
			if c == i+1 {
				res.BestAt[fmt.Sprint(c)] = best
			}
		}
	}
	res.Seconds = time.Since(start).Seconds()
	return res, nil
}
