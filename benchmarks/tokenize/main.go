// Command tokenize-bench measures openmed's tokenizer throughput (tokens/s,
// special tokens included) on the NCBI-Disease train sentences (CoNLL tokens
// joined by one space), single-threaded and with all cores, and prints one
// JSON line per (tokenizer, threads) so run.sh can put it beside HF's Rust
// tokenizers (bench.js).
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/openmed/openmed/core/tokenize"
)

func main() {
	shared := flag.String("shared", "../shared", "path to the shared folder")
	names := flag.String("tokenizers", "pubmedbert-abstract,deberta-v3", "comma-separated tokenizer folders under shared/tokenizers")
	reps := flag.Int("reps", 7, "timed repetitions (median and best reported)")
	threadsFlag := flag.String("threads", "", "comma-separated worker counts (default: 1 and GOMAXPROCS)")
	flag.Parse()
	sents, err := readSentences(filepath.Join(*shared, "data", "NCBI-Disease", "train.tsv"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for _, name := range strings.Split(*names, ",") {
		tk, err := tokenize.Load(filepath.Join(*shared, "tokenizers", name, "tokenizer.json"))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		threads := []int{1, runtime.GOMAXPROCS(0)}
		if *threadsFlag != "" {
			threads = threads[:0]
			for _, f := range strings.Split(*threadsFlag, ",") {
				n, err := strconv.Atoi(f)
				if err != nil || n < 1 {
					fmt.Fprintf(os.Stderr, "-threads: bad count %q\n", f)
					os.Exit(2)
				}
				threads = append(threads, n)
			}
		}
		for _, th := range threads {
			tokens, med, best := measure(tk, sents, th, *reps)
			out, _ := json.Marshal(map[string]any{
				"impl": "openmed-go", "tokenizer": name, "threads": th,
				"sentences": len(sents), "tokens": tokens, "seconds": med, "best_seconds": best,
				"tokens_per_s": float64(tokens) / med, "best_tokens_per_s": float64(tokens) / best,
			})
			fmt.Println(string(out))
		}
	}
}

func measure(tk *tokenize.Tokenizer, sents []string, threads, reps int) (int, float64, float64) {
	var times []float64
	tokens := 0
	for r := 0; r <= reps; r++ {
		start := time.Now()
		encs, err := tk.EncodeBatch(sents, tokenize.WithWorkers(threads))
		el := time.Since(start).Seconds()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		if r == 0 { // warm-up
			tokens = 0
			for _, e := range encs {
				tokens += e.Len()
			}
			continue
		}
		times = append(times, el)
	}
	sort.Float64s(times)
	return tokens, times[len(times)/2], times[0]
}

// readSentences reads a CoNLL file: one "token\ttag" per line, blank lines
// between sentences; a sentence is its tokens joined by one space.
func readSentences(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	var cur []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		line := sc.Text()
		if strings.TrimSpace(line) == "" {
			if len(cur) > 0 {
				out = append(out, strings.Join(cur, " "))
				cur = cur[:0]
			}
			continue
		}
		tok, _, _ := strings.Cut(line, "\t")
		cur = append(cur, tok)
	}
	if len(cur) > 0 {
		out = append(out, strings.Join(cur, " "))
	}
	return out, sc.Err()
}
