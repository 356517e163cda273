package testutil

import "testing"

// RequireBF16 is the rule of the bf16 tests: skip on a CPU without
// AVX512-BF16 or AMX-BF16 (the path cannot run there, by design), fail when
// the CPU has them but oneDNN does not load (make setup installs it). cpu and
// available are tensor.BF16CPU and tensor.BF16Available (passed in: tensor's
// own tests import this package).
func RequireBF16(t testing.TB, cpu func() (avx512bf16, amxbf16 bool), available func() error) {
	t.Helper()
	if avx, amx := cpu(); !avx && !amx {
		t.Skip("CPU has neither AVX512-BF16 nor AMX-BF16: the bf16 path cannot run here")
	}
	if err := available(); err != nil {
		t.Fatalf("CPU supports bf16 but oneDNN is unusable (run make setup): %v", err)
	}
}
