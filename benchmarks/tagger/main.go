// Command tagger benchmarks openmed's Tagger (ORT backend, through the
// public API: tokenisation, windows, batching, decoding) on a BERT-base-shaped
// model with random weights and the real PubMedBERT tokenizer, against the
// same graph run bare by ONNX Runtime (to measure the share of time outside
// ORT), and prepares inputs for the PyTorch and transformers.js peers.
//
//	go run ./benchmarks/tagger --work DIR prepare        # model, export, texts
//	go run ./benchmarks/tagger --work DIR bench          # tokens/s, JSON
//	go run ./benchmarks/tagger --work DIR rss go|ort N   # VmRSS with N adapters
//
// run.sh runs all of it with the peers and prints the table.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/openmed/openmed/core/checkpoint"
	"github.com/openmed/openmed/core/corpus"
	"github.com/openmed/openmed/core/onnx"
	"github.com/openmed/openmed/core/tagger"
	"github.com/openmed/openmed/core/tensor"
	"github.com/openmed/openmed/core/tokenize"
)

var (
	work    = flag.String("work", "", "work folder (model, export, texts)")
	shared  = flag.String("shared", "../shared", "the shared folder (tokenizers, data)")
	threads = flag.Int("threads", 1, "ORT intra-op threads")
	seq     = flag.Int("seq", 128, "tokens per text, specials included")
	nTexts  = flag.Int("texts", 128, "texts per measurement")
	reps    = flag.Int("reps", 3, "repetitions (best counts)")
	backend = flag.String("backend", "ort", "bench: the Tagger's backend, ort or go (go tags the model folder WORK/model)")
	prec    = flag.String("precision", "fp32", "bench with --backend go: the engine's precision, fp32 or bf16")
	cpuProf = flag.String("cpuprofile", "", "bench: write a CPU profile of the timed passes here")
	export  = flag.String("export", "", "bench: the exported model folder to tag with (default WORK/export; e.g. an int8-quantized copy)")
)

var labels = []string{"O", "B-Disease", "I-Disease", "B-Chemical", "I-Chemical"}

const (
	hidden, layers, inter, vocab = 768, 12, 3072, 28895
)

func main() {
	flag.Parse()
	if *work == "" || flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: tagger --work DIR prepare|bench|rss BACKEND N")
		os.Exit(2)
	}
	var err error
	switch flag.Arg(0) {
	case "prepare":
		err = prepare()
	case "bench":
		if *backend == "go" {
			err = benchGo()
		} else {
			err = bench()
		}
	case "rss":
		err = rss(flag.Arg(1), flag.Arg(2))
	default:
		err = fmt.Errorf("unknown command %q", flag.Arg(0))
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "tagger bench:", err)
		os.Exit(1)
	}
}

func modelDir() string  { return filepath.Join(*work, "model") }
func exportDir() string { return filepath.Join(*work, "export") }

// benchDir is the export bench tags with (--export, else exportDir).
func benchDir() string {
	if *export != "" {
		return *export
	}
	return exportDir()
}

// prepare writes the random BERT-base model (+ tokenizer), its ONNX export,
// two LoRA adapters (r=16 on query/value) and texts of exactly --seq tokens.
func prepare() error {
	dir := modelDir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	cfg := &checkpoint.Config{ModelType: checkpoint.ModelBERT, Architectures: []string{"BertForTokenClassification"},
		VocabSize: vocab, HiddenSize: hidden, NumHiddenLayers: layers, NumAttentionHeads: 12, IntermediateSize: inter,
		HiddenAct: checkpoint.ActGELU, MaxPositionEmbeddings: 512, TypeVocabSize: 2, LayerNormEps: 1e-12, InitializerRange: 0.02,
		ID2Label: map[int]string{}, Label2ID: map[string]int{}}
	for i, l := range labels {
		cfg.ID2Label[i], cfg.Label2ID[l] = l, i
	}
	if err := cfg.Save(filepath.Join(dir, "config.json")); err != nil {
		return err
	}
	rng := rand.New(rand.NewSource(1))
	w := map[string]*tensor.Tensor{}
	add := func(name string, scale, shift float64, shape ...int) {
		x := tensor.New(shape...)
		for i := range x.Data {
			x.Data[i] = float32(rng.NormFloat64()*scale + shift)
		}
		w[name] = x
	}
	add("bert.embeddings.word_embeddings.weight", 0.02, 0, vocab, hidden)
	add("bert.embeddings.position_embeddings.weight", 0.02, 0, 512, hidden)
	add("bert.embeddings.token_type_embeddings.weight", 0.02, 0, 2, hidden)
	ln := func(p string) { add(p+".weight", 0.02, 1, hidden); add(p+".bias", 0.02, 0, hidden) }
	ln("bert.embeddings.LayerNorm")
	for l := 0; l < layers; l++ {
		p := fmt.Sprintf("bert.encoder.layer.%d.", l)
		for _, m := range []string{"attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"} {
			add(p+m+".weight", 0.02, 0, hidden, hidden)
			add(p+m+".bias", 0.02, 0, hidden)
		}
		ln(p + "attention.output.LayerNorm")
		add(p+"intermediate.dense.weight", 0.02, 0, inter, hidden)
		add(p+"intermediate.dense.bias", 0.02, 0, inter)
		add(p+"output.dense.weight", 0.02, 0, hidden, inter)
		add(p+"output.dense.bias", 0.02, 0, hidden)
		ln(p + "output.LayerNorm")
	}
	add("classifier.weight", 1, 0, len(labels), hidden)
	add("classifier.bias", 0.5, 0, len(labels))
	if err := checkpoint.WriteSafetensors(filepath.Join(dir, "model.safetensors"), w, map[string]string{"format": "pt"}); err != nil {
		return err
	}
	tokDir := filepath.Join(*shared, "tokenizers", "pubmedbert-abstract")
	for _, f := range []string{"tokenizer.json", "tokenizer_config.json", "vocab.txt"} {
		data, err := os.ReadFile(filepath.Join(tokDir, f))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, f), data, 0o644); err != nil {
			return err
		}
	}
	if _, err := onnx.Export(dir, exportDir(), onnx.ExportOptions{}); err != nil {
		return err
	}
	for a := 0; a < 2; a++ {
		if err := writeAdapter(filepath.Join(*work, fmt.Sprintf("adapter%d", a)), cfg, int64(a+10)); err != nil {
			return err
		}
	}
	return writeTexts()
}

func writeAdapter(dir string, cfg *checkpoint.Config, seed int64) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	rng := rand.New(rand.NewSource(seed))
	w := map[string]*tensor.Tensor{}
	add := func(name string, shape ...int) {
		x := tensor.New(shape...)
		for i := range x.Data {
			x.Data[i] = float32(rng.NormFloat64() * 0.02)
		}
		w[checkpoint.AdapterPrefix+name] = x
	}
	for l := 0; l < layers; l++ {
		for _, m := range []string{"query", "value"} {
			p := fmt.Sprintf("bert.encoder.layer.%d.attention.self.%s", l, m)
			add(p+".lora_A.weight", 16, hidden)
			add(p+".lora_B.weight", hidden, 16)
		}
	}
	add("classifier.weight", len(labels), hidden)
	add("classifier.bias", len(labels))
	pc := checkpoint.DefaultLoRAConfig(checkpoint.ModelBERT, 16, 32)
	pc.BaseModelNameOrPath = modelDir()
	if err := checkpoint.SaveAdapter(dir, pc, w); err != nil {
		return err
	}
	return cfg.Save(filepath.Join(dir, "config.json"))
}

// writeTexts makes --texts texts of NCBI-Disease test words whose encoding
// has exactly --seq tokens, and their ids for the PyTorch peer.
func writeTexts() error {
	tok, err := tokenize.Load(modelDir())
	if err != nil {
		return err
	}
	c, err := corpus.ReadFile(filepath.Join(*shared, "data", "NCBI-Disease", "test.tsv"))
	if err != nil {
		return err
	}
	var words []string
	for _, s := range c.Sentences {
		words = append(words, s.Words()...)
	}
	var texts []string
	var ids [][]int32
	pos := 0
	for len(texts) < *nTexts {
		var cur []string
		for {
			cur = append(cur, words[pos%len(words)])
			pos++
			enc, err := tok.Encode(strings.Join(cur, " "))
			if err != nil {
				return err
			}
			if enc.Len() == *seq {
				texts = append(texts, strings.Join(cur, " "))
				ids = append(ids, enc.IDs)
				break
			}
			if enc.Len() > *seq {
				break // a long word jumped past: start again
			}
		}
	}
	if err := writeJSON(filepath.Join(*work, "texts.json"), texts); err != nil {
		return err
	}
	return writeJSON(filepath.Join(*work, "ids.json"), ids)
}

func writeJSON(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

func readTexts() ([]string, error) {
	var texts []string
	b, err := os.ReadFile(filepath.Join(*work, "texts.json"))
	if err != nil {
		return nil, err
	}
	return texts, json.Unmarshal(b, &texts)
}

// result is one measurement.
type result struct {
	Batch        int     `json:"batch"`
	Tokens       int     `json:"tokens"`
	TaggerSec    float64 `json:"tagger_s"`
	ORTSec       float64 `json:"ort_only_s"`
	TokensPerSec float64 `json:"tokens_per_s"`
	// OutsideORT is 1 − (time in ORT Logits) / (time in TagBatch), measured
	// inside the same calls (Tagger.Stats), so machine load cancels out.
	OutsideORT float64 `json:"outside_ort_share"`
	Entities   int     `json:"entities"`
}

func bench() error {
	texts, err := readTexts()
	if err != nil {
		return err
	}
	tg, err := tagger.Open(benchDir(), tagger.WithBackend(tagger.BackendORT), tagger.WithThreads(*threads))
	if err != nil {
		return err
	}
	defer tg.Close()
	be, err := tagger.NewORT(benchDir(), tagger.ORTOptions{IntraOpThreads: *threads})
	if err != nil {
		return err
	}
	defer be.Close()
	// The windows' ids for the bare ORT run (one window per 128-token text).
	encs := make([][]int64, len(texts))
	for i, t := range texts {
		enc, err := tg.Tokenizer().Encode(t)
		if err != nil {
			return err
		}
		for _, id := range enc.IDs {
			encs[i] = append(encs[i], int64(id))
		}
	}
	ctx := context.Background()
	var out []result
	for _, bs := range []int{1, 32} {
		r := result{Batch: bs, Tokens: *seq * len(texts)}
		// warm-up
		if _, err := tg.TagBatch(ctx, texts[:bs]); err != nil {
			return err
		}
		for rep := 0; rep < *reps; rep++ {
			tg.ResetStats()
			t0 := time.Now()
			n := 0
			for s := 0; s < len(texts); s += bs {
				res, err := tg.TagBatch(ctx, texts[s:min(s+bs, len(texts))])
				if err != nil {
					return err
				}
				for _, e := range res {
					n += len(e)
				}
			}
			tTag := time.Since(t0).Seconds()
			st := tg.Stats()
			share := 1 - st.Backend.Seconds()/st.Total.Seconds()
			t0 = time.Now()
			for s := 0; s < len(texts); s += bs {
				batch := encs[s:min(s+bs, len(texts))]
				mask := make([][]int64, len(batch))
				types := make([][]int64, len(batch))
				for i := range batch {
					mask[i] = make([]int64, len(batch[i]))
					types[i] = make([]int64, len(batch[i]))
					for j := range mask[i] {
						mask[i][j] = 1
					}
				}
				if _, err := be.Logits(batch, mask, types); err != nil {
					return err
				}
			}
			tORT := time.Since(t0).Seconds()
			if r.TaggerSec == 0 || tTag < r.TaggerSec {
				r.TaggerSec, r.Entities, r.OutsideORT = tTag, n, share
			}
			if r.ORTSec == 0 || tORT < r.ORTSec {
				r.ORTSec = tORT
			}
		}
		r.TokensPerSec = float64(r.Tokens) / r.TaggerSec
		out = append(out, r)
	}
	return json.NewEncoder(os.Stdout).Encode(map[string]any{"threads": *threads, "ort": tagger.ORTVersion(), "results": out})
}

// rss loads the base (export for ORT, weights for go) plus n adapters and
// prints VmRSS in MiB after tagging one text with each.
func rss(backend, nStr string) error {
	n, err := strconv.Atoi(nStr)
	if err != nil {
		return err
	}
	kind, err := tagger.ParseBackend(backend)
	if err != nil {
		return err
	}
	texts, err := readTexts()
	if err != nil {
		return err
	}
	tg, err := tagger.Open(modelDir(), tagger.WithBackend(kind), tagger.WithThreads(*threads), tagger.WithCacheDir(filepath.Join(*work, "cache")))
	if err != nil {
		return err
	}
	defer tg.Close()
	ctx := context.Background()
	if _, err := tg.Tag(ctx, texts[0]); err != nil {
		return err
	}
	for a := 0; a < n; a++ {
		name := fmt.Sprintf("a%d", a)
		if err := tg.AddAdapter(name, filepath.Join(*work, fmt.Sprintf("adapter%d", a))); err != nil {
			return err
		}
		if _, err := tg.Tag(ctx, texts[0], tagger.WithAdapter(name)); err != nil {
			return err
		}
	}
	runtime.GC()
	st, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return err
	}
	for _, l := range strings.Split(string(st), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			f := strings.Fields(l)
			kb, _ := strconv.Atoi(f[1])
			fmt.Printf("{\"backend\":%q,\"adapters\":%d,\"rss_mib\":%.1f}\n", backend, n, float64(kb)/1024)
		}
	}
	return nil
}

// benchGo times the Tagger on the pure-Go engine (the model folder, fp32 or
// bf16 products) at batch 1 and 32, best of --reps.
func benchGo() error {
	p, err := tensor.ParsePrecision(*prec)
	if err != nil {
		return err
	}
	if err := tensor.SetPrecision(p); err != nil {
		return err
	}
	tensor.SetThreads(*threads) // the engine's workers (--threads is ORT's elsewhere)
	texts, err := readTexts()
	if err != nil {
		return err
	}
	tg, err := tagger.Open(modelDir(), tagger.WithBackend(tagger.BackendEngine), tagger.WithThreads(*threads))
	if err != nil {
		return err
	}
	defer tg.Close()
	ctx := context.Background()
	var out []result
	if *cpuProf != "" {
		f, err := os.Create(*cpuProf)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	for _, bs := range []int{1, 32} {
		r := result{Batch: bs, Tokens: *seq * len(texts)}
		if _, err := tg.TagBatch(ctx, texts[:bs]); err != nil {
			return err
		}
		for rep := 0; rep < *reps; rep++ {
			t0 := time.Now()
			n := 0
			for s := 0; s < len(texts); s += bs {
				res, err := tg.TagBatch(ctx, texts[s:min(s+bs, len(texts))])
				if err != nil {
					return err
				}
				for _, e := range res {
					n += len(e)
				}
			}
			if dt := time.Since(t0).Seconds(); r.TaggerSec == 0 || dt < r.TaggerSec {
				r.TaggerSec, r.Entities = dt, n
			}
		}
		r.TokensPerSec = float64(r.Tokens) / r.TaggerSec
		out = append(out, r)
	}
	return json.NewEncoder(os.Stdout).Encode(map[string]any{"threads": *threads, "backend": "go", "precision": p.String(), "results": out})
}
