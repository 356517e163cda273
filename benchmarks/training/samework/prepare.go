package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/openmed/openmed/benchmarks/training/features"
	"github.com/openmed/openmed/core/checkpoint"
	"github.com/openmed/openmed/core/corpus"
	"github.com/openmed/openmed/core/model"
	"github.com/openmed/openmed/core/tokenize"
	"github.com/openmed/openmed/training"
	"github.com/openmed/openmed/training/optim"
)

// Recipe is the shared training recipe both sides read from D/recipe.json:
// full fine-tuning with the paper's optimiser settings (OpenMed NER §3.4)
// on a small from-scratch BERT.
type Recipe struct {
	Epochs         int     `json:"epochs"`
	BatchSize      int     `json:"batch_size"`
	EvalBatchSize  int     `json:"eval_batch_size"`
	LR             float64 `json:"lr"`
	WeightDecay    float64 `json:"weight_decay"`
	WarmupRatio    float64 `json:"warmup_ratio"`
	WarmupSteps    int     `json:"warmup_steps"`
	TotalSteps     int     `json:"total_steps"`
	LabelSmoothing float64 `json:"label_smoothing"`
	MaxGradNorm    float64 `json:"max_grad_norm"`
	Dropout        float64 `json:"dropout"`
	Seed           uint64  `json:"seed"`
	MaxLen         int     `json:"max_len"`
	Stride         int     `json:"stride"`
	// Train and Test are the CoNLL files; TrainSentences limits the training
	// file (0: all) for smoke runs.
	Train          string `json:"train"`
	Test           string `json:"test"`
	TrainSentences int    `json:"train_sentences"`
	Tokenizer      string `json:"tokenizer"`
	// NoDecay lists the parameters without weight decay (HF Trainer: biases
	// and LayerNorm weights).
	NoDecay []string `json:"no_decay"`
}

// TrainExample is a training window as the peer reads it.
type TrainExample struct {
	IDs    []int32 `json:"ids"`
	Labels []int32 `json:"labels"`
}

// TestExample is a test window: Owned[i] is the word read at position i.
type TestExample struct {
	Sent  int     `json:"sent"`
	IDs   []int32 `json:"ids"`
	Owned []int   `json:"owned"`
}

// Features is D/features.json.
type Features struct {
	Labels []string       `json:"labels"`
	PadID  int32          `json:"pad_id"`
	Train  []TrainExample `json:"train"`
	Test   []TestExample  `json:"test"`
	// Order[e] lists epoch e's batches as indices into Train: training.EpochBatches,
	// the order training.Train draws, so the peer replays the same batches.
	Order [][][]int `json:"order"`
}

// initConfig is the 4-layer, 256-hidden, 4-head, 1024-FFN BERT with
// PubMedBERT's config.json vocabulary size (30522) and 512 positions.
func initConfig(labels []string, dropout float64) (*checkpoint.Config, error) {
	id2label, label2id := map[string]string{}, map[string]int{}
	for i, l := range labels {
		id2label[fmt.Sprint(i)] = l
		label2id[l] = i
	}
	raw := map[string]any{
		"architectures": []string{"BertForTokenClassification"}, "model_type": "bert",
		"vocab_size": 30522, "hidden_size": 256, "num_hidden_layers": 4, "num_attention_heads": 4,
		"intermediate_size": 1024, "hidden_act": "gelu", "hidden_dropout_prob": dropout,
		"attention_probs_dropout_prob": dropout, "max_position_embeddings": 512, "type_vocab_size": 2,
		"layer_norm_eps": 1e-12, "pad_token_id": 0, "initializer_range": 0.02,
		"id2label": id2label, "label2id": label2id,
	}
	b, err := json.Marshal(raw)
	if err != nil {
		return nil, err
	}
	return checkpoint.ParseConfig(b)
}

func runPrepare(args []string) error {
	fs, dir := newFlags("prepare")
	shared := fs.String("shared", "../shared", "the shared data folder")
	r := Recipe{}
	fs.IntVar(&r.Epochs, "epochs", 8, "num_train_epochs")
	fs.IntVar(&r.BatchSize, "batch", 16, "per-device train batch size")
	fs.Float64Var(&r.LR, "lr", 5e-4, "learning rate")
	fs.IntVar(&r.TrainSentences, "train-sentences", 0, "use only the first N training sentences (0: all)")
	fs.Uint64Var(&r.Seed, "seed", 42, "initialisation and shuffling seed")
	_ = fs.Parse(args)
	if *dir == "" {
		return fmt.Errorf("prepare: -dir is required")
	}
	r.EvalBatchSize, r.WeightDecay, r.WarmupRatio, r.LabelSmoothing, r.MaxGradNorm, r.Dropout = 32, 0.01, 0.1, 0.1, 1.0, 0.1
	r.MaxLen, r.Stride = tokenize.DefaultWindowLen, tokenize.DefaultStride
	r.Train = filepath.Join(*shared, "data", "NCBI-Disease", "train.tsv")
	r.Test = filepath.Join(*shared, "data", "NCBI-Disease", "test.tsv")
	r.Tokenizer = filepath.Join(*shared, "tokenizers", "pubmedbert-abstract")

	tok, err := tokenize.Load(r.Tokenizer)
	if err != nil {
		return err
	}
	trainC, err := corpus.ReadFile(r.Train)
	if err != nil {
		return err
	}
	if r.TrainSentences > 0 && r.TrainSentences < len(trainC.Sentences) {
		trainC.Sentences = trainC.Sentences[:r.TrainSentences]
	}
	// The trainer reads a CoNLL file: write the selected sentences.
	r.Train = filepath.Join(*dir, "train.tsv")
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		return err
	}
	if err := corpus.WriteFile(r.Train, trainC.Sentences); err != nil {
		return err
	}
	testC, err := corpus.ReadFile(r.Test)
	if err != nil {
		return err
	}
	labels, err := training.LabelsFromCorpus(trainC)
	if err != nil {
		return err
	}
	// Sentence windows: the HF peer's tokenize_and_align_labels features.
	opts := training.DataOptions{MaxLen: r.MaxLen, Stride: r.Stride, Packing: training.PackSentences}
	trainD, err := training.BuildDataset(trainC, tok, labels, opts)
	if err != nil {
		return err
	}
	testD, err := training.BuildDataset(testC, tok, labels, opts)
	if err != nil {
		return err
	}

	cfg, err := initConfig(labels.Names, r.Dropout)
	if err != nil {
		return err
	}
	m, err := model.New(cfg, model.TokenClassification, r.Seed)
	if err != nil {
		return err
	}
	if err := training.CheckVocab(tok, m); err != nil {
		return err
	}
	initDir := filepath.Join(*dir, "init")
	if err := os.MkdirAll(initDir, 0o755); err != nil {
		return err
	}
	if err := cfg.Save(filepath.Join(initDir, checkpoint.ConfigFile)); err != nil {
		return err
	}
	if err := checkpoint.WriteSafetensors(filepath.Join(initDir, checkpoint.SafeWeightsFile), m.StateDict(), map[string]string{"format": "pt"}); err != nil {
		return err
	}
	for _, p := range m.TrainableParams() {
		if p.NoDecay {
			r.NoDecay = append(r.NoDecay, p.Name)
		}
	}

	f := Features{Labels: labels.Names, PadID: int32(cfg.PadTokenID)}
	lengths := make([]int, len(trainD.Examples))
	for i, e := range trainD.Examples {
		f.Train = append(f.Train, TrainExample{IDs: e.IDs, Labels: e.Labels})
		lengths[i] = len(e.IDs)
	}
	for _, e := range testD.Examples {
		f.Test = append(f.Test, sentenceExample(testD, e))
	}
	steps := 0
	for e := 0; e < r.Epochs; e++ {
		f.Order = append(f.Order, training.EpochBatches(lengths, r.BatchSize, r.Seed, e))
		steps += len(f.Order[e])
	}
	r.TotalSteps = steps
	r.WarmupSteps = optim.WarmupFromRatio(r.WarmupRatio, steps)
	if err := features.WriteJSON(filepath.Join(*dir, "features.json"), f); err != nil {
		return err
	}
	if err := features.WriteJSON(filepath.Join(*dir, "recipe.json"), r); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "prepared %s: %d train windows (%d tokens) from %d sentences, %d test windows, %d labels %v, %d steps (%d warm-up)\n",
		*dir, len(f.Train), features.Tokens(trainD.Examples), len(trainC.Sentences), len(f.Test), labels.Len(), labels.Names, steps, r.WarmupSteps)
	return nil
}

// sentenceExample turns a sentence-packed window into the peer's layout:
// its sentence and word indices local to it.
func sentenceExample(d *training.Dataset, e training.Example) TestExample {
	sent := -1
	owned := make([]int, len(e.Owned))
	for i, w := range e.Owned {
		owned[i] = -1
		if w < 0 {
			continue
		}
		if sent < 0 {
			sent = sort.Search(len(d.Sentences), func(k int) bool { return d.WordBase[k+1] > w })
		}
		owned[i] = w - d.WordBase[sent]
	}
	return TestExample{Sent: max(sent, 0), IDs: e.IDs, Owned: owned}
}
