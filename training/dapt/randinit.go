package dapt

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/openmed/openmed/core/checkpoint"
	"github.com/openmed/openmed/core/model"
	"github.com/openmed/openmed/core/tokenize"
)

// SaveRandomInit writes an HF ...ForMaskedLM folder (config.json,
// model.safetensors, tokenizer files) holding HF's from-scratch
// initialisation (model.New, seed) of the encoder s describes: the "random
// init" baseline a pre-trained encoder of the same architecture and
// tokenizer is compared with. The config is ScratchConfig's for s.Arch
// (BertForMaskedLM, or DebertaV2ForMaskedLM for ArchDeBERTaV3: the same
// config.json pre-training writes) with dropout 0.1 whatever s.Dropout says.
func SaveRandomInit(out, tokDir string, s Scratch, seed uint64) error {
	tok, err := tokenize.Load(tokDir)
	if err != nil {
		return fmt.Errorf("tokenizer: %w", err)
	}
	drop := 0.1
	s.Dropout = &drop
	c, err := ScratchConfig(s, tok)
	if err != nil {
		return err
	}
	m, err := model.New(c, model.MaskedLM, seed)
	if err != nil {
		return fmt.Errorf("dapt: random init (%s): %w", s.Arch, err)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	if err := checkpoint.WriteSafetensors(filepath.Join(out, checkpoint.SafeWeightsFile), m.StateDict(), map[string]string{"format": "pt"}); err != nil {
		return err
	}
	if err := m.Config.Save(filepath.Join(out, checkpoint.ConfigFile)); err != nil {
		return err
	}
	_, err = tokenize.CopyFiles(tokDir, out)
	return err
}
