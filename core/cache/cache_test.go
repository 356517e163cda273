package cache

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestRoot(t *testing.T) {
	t.Setenv(Env, "/x/y")
	assert.Equal(t, "/x/y", Root())
	t.Setenv(Env, "")
	t.Setenv("XDG_CACHE_HOME", "/c")
	assert.Equal(t, filepath.Join("/c", "openmed"), Root())
}
