package main

import (
	"testing"

	"github.com/openmed/openmed/core/tagger"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// configFromJSON is parseTaggerConfig on a Go string.
func configFromJSON(s string) (taggerConfig, error) {
	cfg := taggerConfig{Options: tagger.DefaultOptions()}
	if err := decodeJSON(s, &cfg); err != nil {
		return cfg, badInput("config_json: %v", err)
	}
	return cfg, checkTaggerConfig(&cfg)
}

// config_json decodes into tagger.Options over the library's defaults: the
// CLI's spellings, absent keys keep the defaults, bad values are bad input
// naming the key.
func TestTaggerConfigDecodesLibraryOptions(t *testing.T) {
	cfg, err := configFromJSON(`{"backend":"go","device":"cpu","aggregation":"simple","threads":2,"threshold":0.5,"overlap":"any","base":"b"}`)
	require.NoError(t, err)
	assert.Equal(t, tagger.BackendEngine, cfg.Backend)
	assert.Equal(t, tagger.AggregationSimple, cfg.Aggregation)
	assert.Equal(t, tagger.OverlapAny, cfg.Overlap)
	assert.Equal(t, "b", cfg.BaseDir)
	def, err := configFromJSON(`{"aggregation":""}`)
	require.NoError(t, err)
	assert.Equal(t, tagger.DefaultOptions(), def.Options, "absent or empty keys keep the library's defaults")
	for _, c := range []struct{ json, want string }{
		{`{"backend":"tpu"}`, "backend"},
		{`{"device":"gpu9"}`, "device"},
		{`{"aggregation":"median"}`, "aggregation"},
		{`{"threshold":1.5}`, "threshold"},
		{`{"overlap":"nested"}`, "overlap"},
		{`{"threads":-1}`, ">= 0"},
		{`{"window":3}`, "window_length"},
	} {
		_, err := configFromJSON(c.json)
		require.Error(t, err, c.json)
		assert.Equal(t, StatusBadInput, statusOf(err))
		assert.Contains(t, err.Error(), c.want, c.json)
	}
}

func TestTagOptsAdapterChoice(t *testing.T) {
	none := &openTagger{}
	opts, err := none.tagOpts(tagOptions{})
	require.NoError(t, err)
	assert.Empty(t, opts, "no adapter: the model's own head")
	_, err = none.tagOpts(tagOptions{AllAdapters: true})
	assert.Equal(t, StatusBadInput, statusOf(err))

	one := &openTagger{adapters: []string{"ncbi"}}
	opts, err = one.tagOpts(tagOptions{})
	require.NoError(t, err)
	assert.Empty(t, opts, "no options: the library's default (the attached adapter)")
	_, err = one.tagOpts(tagOptions{Adapter: "other"})
	assert.ErrorContains(t, err, "not attached")
	_, err = one.tagOpts(tagOptions{Adapter: "ncbi", AllAdapters: true})
	assert.ErrorContains(t, err, "not both")

	two := &openTagger{adapters: []string{"a", "b"}}
	opts, err = two.tagOpts(tagOptions{})
	require.NoError(t, err)
	assert.Empty(t, opts, "no options: the library's default (all attached adapters)")
	opts, err = two.tagOpts(tagOptions{Adapter: "b"})
	require.NoError(t, err)
	assert.Len(t, opts, 1)
}
