package bindings

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/openmed/openmed/internal/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// repoRoot walks up from the working directory to the folder holding go.mod.
func repoRoot(t *testing.T) string {
	return testutil.Root(t)
}

// sharedDir is ../shared beside the repository; the test skips when absent.
func sharedDir(t *testing.T) string {
	return testutil.SharedDir(t)
}

// libBuild is the c-shared library built once for all tests of the package.
var libBuild struct {
	once sync.Once
	dir  string
	err  error
	out  []byte
}

// buildLib builds libopenmed.so and its cgo header (once per test binary)
// and returns the folder holding them.
func buildLib(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("building the c-shared library is skipped with -short")
	}
	root := repoRoot(t)
	libBuild.once.Do(func() {
		libBuild.dir, libBuild.err = os.MkdirTemp("", "openmed-bindings-")
		if libBuild.err != nil {
			return
		}
		cmd := exec.Command("go", "build", "-buildmode=c-shared", "-o", filepath.Join(libBuild.dir, "libopenmed.so"), "./capi")
		cmd.Dir = root
		libBuild.out, libBuild.err = cmd.CombinedOutput()
	})
	require.NoError(t, libBuild.err, "go build -buildmode=c-shared: %s", libBuild.out)
	return libBuild.dir
}

func TestMain(m *testing.M) {
	code := m.Run()
	if libBuild.dir != "" {
		os.RemoveAll(libBuild.dir)
	}
	os.Exit(code)
}

var (
	commentRE = regexp.MustCompile(`(?s)/\*.*?\*/|//[^\n]*`)
	protoRE   = regexp.MustCompile(`([A-Za-z_][A-Za-z0-9_ \t\*]*?)\b(openmed_[a-z_]+)\s*\(([^)]*)\)\s*;`)
	identRE   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// normType drops qualifiers the ABI does not depend on (const, extern) and
// spacing: "const char *" and "char*" are the same C type at the ABI level.
func normType(tokens []string) string {
	var out []string
	for _, tok := range tokens {
		if tok == "const" || tok == "extern" {
			continue
		}
		out = append(out, tok)
	}
	return strings.Join(out, " ")
}

// tokensOf splits a declaration into identifiers and '*'.
func tokensOf(s string) []string {
	s = strings.ReplaceAll(s, "*", " * ")
	return strings.Fields(s)
}

// paramType returns a parameter's type without its name.
func paramType(p string) string {
	toks := tokensOf(p)
	if len(toks) > 1 && identRE.MatchString(toks[len(toks)-1]) {
		toks = toks[:len(toks)-1] // the parameter name
	}
	return strings.ReplaceAll(normType(toks), " *", "*")
}

// prototypes maps each openmed_* function declared in a header to its
// normalised signature "ret(param,param)".
func prototypes(t *testing.T, header string) map[string]string {
	t.Helper()
	src := commentRE.ReplaceAllString(header, "")
	out := map[string]string{}
	for _, m := range protoRE.FindAllStringSubmatch(src, -1) {
		ret := strings.ReplaceAll(normType(tokensOf(m[1])), " *", "*")
		var params []string
		for _, p := range strings.Split(m[3], ",") {
			if pt := paramType(p); pt != "" && pt != "void" {
				params = append(params, pt)
			}
		}
		_, dup := out[m[2]]
		require.False(t, dup, "%s declared twice", m[2])
		out[m[2]] = ret + "(" + strings.Join(params, ",") + ")"
	}
	return out
}

func TestPrototypesParse(t *testing.T) {
	got := prototypes(t, `/* int openmed_commented(void); */
extern char* openmed_a(void);
const char *openmed_b(const char *x, uint64_t *h, char **err);
int openmed_c(uint64_t job, openmed_progress_fn progress,
              void *user_data);`)
	assert.Equal(t, map[string]string{
		"openmed_a": "char*()",
		"openmed_b": "char*(char*,uint64_t*,char**)",
		"openmed_c": "int(uint64_t,openmed_progress_fn,void*)",
	}, got)
}

func TestHeaderMatchesCgo(t *testing.T) {
	root := repoRoot(t)
	dir := buildLib(t)
	generated, err := os.ReadFile(filepath.Join(dir, "libopenmed.h"))
	require.NoError(t, err)
	hand, err := os.ReadFile(filepath.Join(root, "bindings", "openmed.h"))
	require.NoError(t, err)
	want := prototypes(t, string(generated))
	got := prototypes(t, string(hand))
	require.NotEmpty(t, want, "no openmed_* exports found in the cgo header")
	names := func(m map[string]string) []string {
		var n []string
		for k := range m {
			n = append(n, k)
		}
		sort.Strings(n)
		return n
	}
	require.Equal(t, names(want), names(got), "openmed.h and the cgo header declare different functions")
	for name, sig := range want {
		assert.Equal(t, sig, got[name], "signature of %s", name)
	}
}

func TestCProgram(t *testing.T) {
	shared := sharedDir(t)
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skipf("gcc not installed: %v", err)
	}
	root := repoRoot(t)
	dir := buildLib(t)
	bin := filepath.Join(t.TempDir(), "test_openmed")
	cc := exec.Command("gcc", "-std=c11", "-D_GNU_SOURCE", "-Wall", "-Wextra", "-Werror", "-O1",
		"-I", filepath.Join(root, "bindings"), "-o", bin, filepath.Join(root, "bindings", "test", "test_openmed.c"),
		"-L", dir, "-lopenmed", "-lpthread", "-Wl,-rpath,"+dir)
	out, err := cc.CombinedOutput()
	require.NoError(t, err, "gcc: %s", out)
	run := exec.Command(bin, shared)
	out, err = run.CombinedOutput()
	t.Logf("%s", out)
	require.NoError(t, err, "test_openmed failed:\n%s", out)
	assert.Contains(t, string(out), " 0 failures")
}
