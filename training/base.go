package training

import (
	"fmt"
	"slices"
	"strings"

	"github.com/openmed/openmed/core/checkpoint"
	"github.com/openmed/openmed/core/model"
)

// LoadBase builds a token-classification model from an HF folder with the
// given label set: the base's config with id2label/label2id replaced and
// architectures set to XxxForTokenClassification, the encoder weights from
// the folder, and the classifier from the folder only when its labels equal
// ours — otherwise a fresh classifier with HF's init (seed), as
// from_pretrained(num_labels=…, ignore_mismatched_sizes=True) does. It returns
// whether the head was newly initialised.
func LoadBase(dir string, labels *LabelSet, seed uint64) (*model.Model, bool, error) {
	return LoadBaseWithDropout(dir, labels, seed, nil)
}

// LoadBaseWithDropout is LoadBase with hidden_dropout_prob and
// attention_probs_dropout_prob overridden when dropout is non-nil — what
// from_pretrained(dir, hidden_dropout_prob=p, attention_probs_dropout_prob=p)
// does in transformers (the override is recorded in the model's config).
func LoadBaseWithDropout(dir string, labels *LabelSet, seed uint64, dropout *float64) (*model.Model, bool, error) {
	cfg, err := checkpoint.LoadConfig(dir)
	if err != nil {
		return nil, false, err
	}
	if dropout != nil {
		cfg.HiddenDropoutProb = *dropout
		cfg.AttentionProbsDropoutProb = *dropout
	}
	same := slices.Equal(cfg.Labels(), labels.Names)
	cfg.ID2Label = labels.ID2Label()
	cfg.Label2ID = labels.Label2ID()
	m, err := model.New(cfg, model.TokenClassification, seed)
	if err != nil {
		return nil, false, fmt.Errorf("%s: %w", dir, err)
	}
	cfg.Architectures = []string{m.Arch.TokenClassificationClass()}
	sd, err := checkpoint.LoadWeights(dir)
	if err != nil {
		return nil, false, err
	}
	if !same {
		for k := range sd {
			if strings.HasPrefix(k, "classifier.") {
				delete(sd, k)
			}
		}
	}
	missing, _, err := m.LoadStateDict(sd)
	if err != nil {
		return nil, false, fmt.Errorf("%s: %w", dir, err)
	}
	return m, len(missing) > 0, nil
}
