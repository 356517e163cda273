package tokenize

import "fmt"

// templateItem is one element of a TemplateProcessing template: a special
// token (Special != "") or a sequence (Seq 0 for $A, 1 for $B).
type templateItem struct {
	Special string
	Seq     int
	TypeID  int32
}

// specialEntry is TemplateProcessing's special_tokens[...]: the ids and
// tokens a special item expands to.
type specialEntry struct {
	ids    []int32
	tokens []string
}

// template is HF's TemplateProcessing (BertProcessing is converted to the
// equivalent template "[CLS] $A [SEP]" / "[CLS] $A [SEP] $B:1 [SEP]:1").
type template struct {
	single, pair []templateItem
	specials     map[string]specialEntry
}

func (t *template) validate() error {
	for _, items := range [][]templateItem{t.single, t.pair} {
		for _, it := range items {
			if it.Special != "" {
				if _, ok := t.specials[it.Special]; !ok {
					return fmt.Errorf("post_processor: template uses special token %q missing from special_tokens", it.Special)
				}
			}
		}
	}
	return nil
}

// added returns how many special tokens the template adds.
func (t *template) added(pair bool) int {
	items := t.single
	if pair {
		items = t.pair
	}
	n := 0
	for _, it := range items {
		if it.Special != "" {
			n += len(t.specials[it.Special].ids)
		}
	}
	return n
}

func bertTemplate(cls string, clsID int32, sep string, sepID int32) *template {
	return &template{
		single: []templateItem{{Special: cls}, {Seq: 0}, {Special: sep}},
		pair:   []templateItem{{Special: cls}, {Seq: 0}, {Special: sep}, {Seq: 1, TypeID: 1}, {Special: sep, TypeID: 1}},
		specials: map[string]specialEntry{
			cls: {ids: []int32{clsID}, tokens: []string{cls}},
			sep: {ids: []int32{sepID}, tokens: []string{sep}},
		},
	}
}
