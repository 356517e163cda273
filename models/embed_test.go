package models_test

import (
	"context"
	"io/fs"
	"os"
	"path"
	"testing"

	"github.com/openmed/openmed/core/tagger"
	"github.com/openmed/openmed/internal/testutil"
	"github.com/openmed/openmed/models"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestEmbeddedDefault checks the real embedded models/ tree: default.json is
// embedded and valid; its folders are either all absent (the models are not
// shipped yet: the default counts as absent) or all present — a half-shipped
// default fails here. When shipped, every embedded file equals the one on
// disk, and the default tagger opens and finds entities in the README's
// sentence on the Go engine (its base from the encoder cache when the
// manifest names a base_encoder).
func TestEmbeddedDefault(t *testing.T) {
	m, st, miss, err := tagger.CheckManifestFS(models.FS)
	require.NoError(t, err)
	require.NotEqual(t, tagger.ManifestAbsent, st, "models/default.json is not embedded")
	require.NotEqual(t, tagger.ManifestIncomplete, st, "models/default.json names folders that are not embedded: %v (ship all of %v or none)", miss, m.Folders())
	for _, dir := range m.Folders() {
		_, err := os.Stat(dir)
		assert.Equal(t, st == tagger.ManifestComplete, err == nil, "%s on disk vs embedded status %s", dir, st)
	}
	if st == tagger.ManifestNotShipped {
		t.Logf("default tagger not shipped yet (absent: %v); the embedded default is ignored", miss)
		return
	}
	for _, dir := range m.Folders() {
		err := fs.WalkDir(models.FS, dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			emb, err := fs.ReadFile(models.FS, p)
			require.NoError(t, err)
			disk, err := os.ReadFile(p)
			require.NoError(t, err)
			assert.Equal(t, len(disk), len(emb), p)
			return nil
		})
		require.NoError(t, err)
	}
	if m.BaseEncoder != "" {
		// The base comes from the encoder cache (`make setup` installs it).
		testutil.EncoderCache(t, m.BaseEncoder)
	} else {
		_, err = fs.Stat(models.FS, path.Join(m.Base, "model.safetensors"))
		require.NoError(t, err, "the base has weights")
	}
	t.Setenv(tagger.EnvModel, "")
	testutil.TempCache(t)
	t.Chdir(t.TempDir())
	tagger.RegisterDefaultFS(models.FS)
	t.Cleanup(func() { tagger.RegisterDefaultFS(nil) })
	d, err := tagger.Open("", tagger.WithBackend(tagger.BackendEngine))
	require.NoError(t, err)
	defer d.Close()
	assert.Equal(t, tagger.OriginEmbedded, d.Source().Origin)
	ents, err := d.Tag(context.Background(), "Cisplatin-induced nephrotoxicity was observed.")
	require.NoError(t, err)
	t.Logf("entities: %+v", ents)
	assert.NotEmpty(t, ents, "the shipped default tagger finds entities in the README sentence")
}
