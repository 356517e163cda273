package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTaggerOptionsValidation(t *testing.T) {
	_, err := taggerOptions(taggerConfig{Backend: "go", Device: "cpu", Aggregation: "first", Threads: 2, Threshold: 0.5, Overlap: "any"})
	require.NoError(t, err)
	for _, c := range []struct {
		cfg  taggerConfig
		want string
	}{
		{taggerConfig{Backend: "tpu"}, "backend"},
		{taggerConfig{Device: "gpu9"}, "device"},
		{taggerConfig{Aggregation: "median"}, "aggregation"},
		{taggerConfig{Threshold: 1.5}, "threshold"},
		{taggerConfig{Overlap: "nested"}, "overlap"},
		{taggerConfig{Threads: -1}, ">= 0"},
	} {
		_, err := taggerOptions(c.cfg)
		require.Error(t, err, "%+v", c.cfg)
		assert.Equal(t, StatusBadInput, statusOf(err))
		assert.Contains(t, err.Error(), c.want)
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
	assert.Len(t, opts, 1, "one adapter is used by default")
	_, err = one.tagOpts(tagOptions{Adapter: "other"})
	assert.ErrorContains(t, err, "not attached")
	_, err = one.tagOpts(tagOptions{Adapter: "ncbi", AllAdapters: true})
	assert.ErrorContains(t, err, "not both")

	two := &openTagger{adapters: []string{"a", "b"}}
	opts, err = two.tagOpts(tagOptions{})
	require.NoError(t, err)
	assert.Len(t, opts, 1, "several adapters: all of them")
	opts, err = two.tagOpts(tagOptions{Adapter: "b"})
	require.NoError(t, err)
	assert.Len(t, opts, 1)
}
