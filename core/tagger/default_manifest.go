package tagger

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"slices"
	"sort"

	"github.com/openmed/openmed/core/checkpoint"
	"github.com/openmed/openmed/core/encoder"
)

// ManifestFile is the default tagger's manifest, models/default.json: which
// base model and which PEFT adapter folders make up the default tagger.
const ManifestFile = "default.json"

// DefaultPreset is the preset Open("") opens: models/default.json.
const DefaultPreset = "default"

// PresetFile is the manifest of preset name inside the models tree:
// "<name>.json" (DefaultPreset is ManifestFile). A preset is another
// manifest beside default.json over the same folders, e.g. "fast", the small
// tagger kept when the default moved to larger encoders (issue 18).
func PresetFile(name string) string { return name + ".json" }

// IsPresetName reports whether s can name a preset: lower-case letters,
// digits and '-', starting with a letter (so never a path).
func IsPresetName(s string) bool {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// TagWith is how the default tagger tags: with all its adapters (the union
// of their typed entities, as WithAllAdapters) or with one named adapter.
type TagWith string

// TagWithAll tags with every adapter of the manifest and returns the union.
const TagWithAll TagWith = "all"

// Manifest is models/default.json: a base model folder and named PEFT LoRA
// adapter folders (as openmed train writes them; adapter_config.json
// base_model_name_or_path may point anywhere — the manifest's base is used),
// all relative to the manifest's own folder, e.g.
//
//	{"base": "openmed-small-bio",
//	 "adapters": {"disease": "ncbi-disease-lora", "chemical": "bc5cdr-chem-lora"},
//	 "tag_with": "all"}
type Manifest struct {
	// Base is the base model folder (an HF folder: config.json + weights,
	// e.g. a BertForMaskedLM encoder; its head is not used). Exactly one of
	// Base and BaseEncoder is set.
	Base string `json:"base,omitempty"`
	// BaseEncoder names a pinned encoder of the encoder cache
	// (encoder.Catalog) as the base: the repository then carries no base
	// weights; `make encoders` fetches them and checks their sha256.
	BaseEncoder string `json:"base_encoder,omitempty"`
	// BaseAdapter is an encoder adapter folder (PEFT FEATURE_EXTRACTION,
	// the DAPT LoRA of training/dapt) merged into the base before the task
	// adapters attach: released encoder + DAPT delta = the adapted encoder.
	BaseAdapter string `json:"base_adapter,omitempty"`
	// Adapters maps adapter name → adapter folder; the names are what
	// WithAdapter / --use / Entity.Adapter show.
	Adapters map[string]string `json:"adapters"`
	// TagWith is "all" (default when empty) or one adapter name.
	TagWith TagWith `json:"tag_with,omitempty"`
}

// ParseManifest decodes and validates a manifest; name (the file) prefixes
// every error.
func ParseManifest(data []byte, name string) (*Manifest, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var m Manifest
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("tagger: %s: %w", name, err)
	}
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("tagger: %s: %w", name, err)
	}
	return &m, nil
}

// Validate checks the manifest: a base, at least one adapter, every folder
// a clean relative path inside the manifest's folder (io/fs ValidPath, so it
// also resolves inside an embedded FS), distinct folders, and tag_with "all"
// or an adapter name. An empty tag_with becomes "all".
func (m *Manifest) Validate() error {
	check := func(field, p string) error {
		if p == "" {
			return fmt.Errorf("%s is empty", field)
		}
		if !fs.ValidPath(p) || p == "." || path.Clean(p) != p {
			return fmt.Errorf("%s %q must be a clean relative path inside the manifest's folder (no '..', no leading '/')", field, p)
		}
		return nil
	}
	seen := map[string]string{}
	switch {
	case m.Base != "" && m.BaseEncoder != "":
		return fmt.Errorf("base and base_encoder exclude each other")
	case m.BaseEncoder != "":
		if _, err := encoder.Lookup(m.BaseEncoder); err != nil {
			return fmt.Errorf("base_encoder: %w", err)
		}
	default:
		if err := check("base", m.Base); err != nil {
			return err
		}
		seen[m.Base] = "base"
	}
	if m.BaseAdapter != "" {
		if err := check("base_adapter", m.BaseAdapter); err != nil {
			return err
		}
		if other, dup := seen[m.BaseAdapter]; dup {
			return fmt.Errorf("base_adapter: folder %q is also %s", m.BaseAdapter, other)
		}
		seen[m.BaseAdapter] = "base_adapter"
	}
	if len(m.Adapters) == 0 {
		return fmt.Errorf("adapters is empty: the default tagger needs at least one adapter folder")
	}
	for _, name := range m.AdapterNames() {
		p := m.Adapters[name]
		if name == "" {
			return fmt.Errorf("adapters: empty adapter name")
		}
		if err := check(fmt.Sprintf("adapters[%q]", name), p); err != nil {
			return err
		}
		if other, dup := seen[p]; dup {
			return fmt.Errorf("adapters[%q]: folder %q is also %s", name, p, other)
		}
		seen[p] = fmt.Sprintf("adapters[%q]", name)
	}
	switch {
	case m.TagWith == "":
		m.TagWith = TagWithAll
	case m.TagWith == TagWithAll:
	default:
		if _, ok := m.Adapters[string(m.TagWith)]; !ok {
			return fmt.Errorf("tag_with %q is neither %q nor an adapter name (%v)", m.TagWith, TagWithAll, m.AdapterNames())
		}
	}
	return nil
}

// Save validates the manifest and writes it to dir/default.json (indented,
// atomically): the one writer of the format ParseManifest reads.
func (m *Manifest) Save(dir string) error {
	if err := m.Validate(); err != nil {
		return fmt.Errorf("tagger: %s: %w", filepath.Join(dir, ManifestFile), err)
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return checkpoint.WriteFileAtomic(filepath.Join(dir, ManifestFile), append(b, '\n'))
}

// AdapterNames are the adapter names, sorted (the order adapters are
// attached in, so ties in the union's offset order are deterministic).
func (m *Manifest) AdapterNames() []string {
	names := make([]string, 0, len(m.Adapters))
	for n := range m.Adapters {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Folders are the manifest's own folders: the base folder (unless the base
// is a cached encoder), the base adapter, then the adapter folders in
// AdapterNames order.
func (m *Manifest) Folders() []string {
	var out []string
	if m.Base != "" {
		out = append(out, m.Base)
	}
	if m.BaseAdapter != "" {
		out = append(out, m.BaseAdapter)
	}
	for _, n := range m.AdapterNames() {
		out = append(out, m.Adapters[n])
	}
	return out
}

// TagOptions are the per-call options the manifest asks for.
func (m *Manifest) TagOptions() []TagOption {
	if m.TagWith == TagWithAll {
		return []TagOption{WithAllAdapters()}
	}
	return []TagOption{WithAdapter(string(m.TagWith))}
}

// use returns the adapter names to open: all (AdapterNames) when names is
// empty, else names in the manifest's order, each checked to be one of its
// adapters.
func (m *Manifest) use(names []string) ([]string, error) {
	all := m.AdapterNames()
	if len(names) == 0 {
		return all, nil
	}
	for _, n := range names {
		if _, ok := m.Adapters[n]; !ok {
			return nil, fmt.Errorf("use: no adapter named %q (has %v)", n, all)
		}
	}
	var out []string
	for _, n := range all {
		if slices.Contains(names, n) {
			out = append(out, n)
		}
	}
	return out, nil
}

// missingFolders lists the manifest's folders that fsys lacks, each with the
// file that marks it (config.json for the base, adapter_config.json for an
// adapter).
func (m *Manifest) missingFolders(fsys fs.FS) []string {
	var miss []string
	want := func(dir, marker string) {
		if _, err := fs.Stat(fsys, path.Join(dir, marker)); err != nil {
			miss = append(miss, dir)
		}
	}
	if m.Base != "" {
		want(m.Base, "config.json")
	}
	if m.BaseAdapter != "" {
		want(m.BaseAdapter, "adapter_config.json")
	}
	for _, n := range m.AdapterNames() {
		want(m.Adapters[n], "adapter_config.json")
	}
	return miss
}
