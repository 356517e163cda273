package training

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/openmed/openmed/core/checkpoint"
	"github.com/openmed/openmed/core/corpus"
	"github.com/openmed/openmed/core/scheme"
)

// LabelSet is the class inventory of a token-classification head: HF's
// id2label (Names, index = class id) and label2id. Tags are kept as written
// in the training file (IOB2 "B-Disease"/"I-Disease", or untyped "B"/"I" as
// in S800); "O" is always class 0.
type LabelSet struct {
	// Names lists the tags by class id.
	Names []string
	index map[string]int
}

// NewLabelSet builds a label set from tags in class order; "O" must be first
// and tags must be unique.
func NewLabelSet(names []string) (*LabelSet, error) {
	if len(names) == 0 || names[0] != "O" {
		return nil, fmt.Errorf("training: label set %v must start with \"O\"", names)
	}
	l := &LabelSet{Names: append([]string(nil), names...), index: make(map[string]int, len(names))}
	for i, n := range names {
		if _, dup := l.index[n]; dup {
			return nil, fmt.Errorf("training: label %q appears twice in the label set", n)
		}
		if !scheme.ValidTag(n) {
			return nil, fmt.Errorf("training: label %q is not a BIO tag", n)
		}
		l.index[n] = i
	}
	return l, nil
}

// LabelsFromCorpus returns the label set of a training file in the
// deterministic order HF token-classification configs conventionally use:
// "O" first, then the tags sorted by entity type and prefix (corpus.Labels).
// For every B-X it also adds I-X when absent, so a type whose mentions are all
// one word can still be predicted as multi-word.
func LabelsFromCorpus(c *corpus.Corpus) (*LabelSet, error) {
	names := c.Labels()
	seen := map[string]bool{}
	for _, n := range names {
		seen[n] = true
	}
	var extra []string
	for _, n := range names {
		if p, typ, ok := scheme.ParseTag(n); ok && p == scheme.PrefixB {
			i := scheme.MakeTag(scheme.PrefixI, typ)
			if !seen[i] {
				extra = append(extra, i)
				seen[i] = true
			}
		}
	}
	if len(extra) > 0 {
		names = corpus.Labels(tagSentences(append(names, extra...)))
	}
	return NewLabelSet(names)
}

// tagSentences wraps tags as one sentence so corpus.Labels can sort them.
func tagSentences(tags []string) []corpus.Sentence {
	s := corpus.Sentence{}
	for _, t := range tags {
		s.Tokens = append(s.Tokens, corpus.Token{Text: t, Tag: t})
	}
	return []corpus.Sentence{s}
}

// ID returns the class id of tag.
func (l *LabelSet) ID(tag string) (int, bool) {
	i, ok := l.index[tag]
	return i, ok
}

// Len is the number of classes.
func (l *LabelSet) Len() int { return len(l.Names) }

// ID2Label is HF config.json's id2label.
func (l *LabelSet) ID2Label() map[int]string {
	m := make(map[int]string, len(l.Names))
	for i, n := range l.Names {
		m[i] = n
	}
	return m
}

// Label2ID is HF config.json's label2id.
func (l *LabelSet) Label2ID() map[string]int {
	m := make(map[string]int, len(l.Names))
	for n, i := range l.index {
		m[n] = i
	}
	return m
}

// continuation maps a class to the class its non-first sub-tokens get when
// every sub-token is labelled (HF run_ner label_all_tokens with b_to_i_label):
// B-X becomes I-X when I-X exists, others stay.
func (l *LabelSet) continuation(id int) int {
	p, typ, ok := scheme.ParseTag(l.Names[id])
	if !ok || p != scheme.PrefixB {
		return id
	}
	if j, ok := l.index[scheme.MakeTag(scheme.PrefixI, typ)]; ok {
		return j
	}
	return id
}

// sortedKeys returns a map's keys in order (deterministic messages).
func sortedKeys(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// LabelsFile is a run folder's label inventory (id2label, label2id and the
// labels in class order), written beside config.json.
const LabelsFile = "labels.json"

// writeLabels writes ls as dir's LabelsFile.
func writeLabels(dir string, ls *LabelSet) error {
	return WriteJSON(filepath.Join(dir, LabelsFile), map[string]any{
		"id2label": ls.ID2Label(), "label2id": ls.Label2ID(), "labels": ls.Names})
}

// RetypedLabels returns the label set of names with every untyped tag ("B",
// "I", as in S800) given the entity type typ ("B-Species", "I-Species"). It
// is an error when typ is not an entity type, when no tag is untyped, or when
// the result is not a label set (a retyped tag collides with a typed one).
func RetypedLabels(names []string, typ string) (*LabelSet, error) {
	if typ == "" || strings.ContainsAny(typ, " \t\r\n") || !scheme.ValidTag(scheme.MakeTag(scheme.PrefixB, typ)) {
		return nil, fmt.Errorf("%q is not an entity type", typ)
	}
	out := append([]string(nil), names...)
	changed := false
	for i, n := range out {
		p, t, ok := scheme.ParseTag(n)
		if !ok {
			return nil, fmt.Errorf("label %q is not a BIO tag", n)
		}
		if p != scheme.PrefixO && t == "" {
			out[i], changed = scheme.MakeTag(p, typ), true
		}
	}
	if !changed {
		return nil, fmt.Errorf("no untyped labels in %v", names)
	}
	return NewLabelSet(out)
}

// RetypeLabels gives the untyped tags of a run folder's head (RetypedLabels)
// the entity type typ in its config.json (id2label, label2id) and
// LabelsFile, so a tagger reports entities of that type instead of an empty
// entity_group. Class ids and weights are unchanged. Errors name the file.
func RetypeLabels(dir, typ string) error {
	path := filepath.Join(dir, checkpoint.ConfigFile)
	cfg, err := checkpoint.LoadConfig(path)
	if err != nil {
		return err
	}
	ls, err := RetypedLabels(cfg.Labels(), typ)
	if err != nil {
		return fmt.Errorf("training: retype %s: %w", path, err)
	}
	cfg.ID2Label, cfg.Label2ID = ls.ID2Label(), ls.Label2ID()
	if err := cfg.Save(path); err != nil {
		return err
	}
	return writeLabels(dir, ls)
}
