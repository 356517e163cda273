package benchutil

import (
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestMedian(t *testing.T) {
	assert.Equal(t, 0.0, Median(nil))
	assert.Equal(t, 2.0, Median([]float64{3, 1, 2}))
	xs := []float64{4, 1, 3, 2}
	assert.Equal(t, 2.5, Median(xs))
	assert.Equal(t, []float64{4, 1, 3, 2}, xs, "input left as it was")
}

func TestStatusMB(t *testing.T) {
	status := "Name:\tx\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\n"
	assert.Equal(t, 200.0, statusMB(status, "VmHWM"))
	assert.Equal(t, 100.0, statusMB(status, "VmRSS"))
	assert.Equal(t, 0.0, statusMB(status, "VmSwap"))
	assert.Equal(t, 0.0, statusMB("VmHWMx:\t5 kB\n", "VmHWM"), "a longer field name is another field")
}

func TestProcStatusMB(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("/proc/self/status is Linux's")
	}
	rss := ProcStatusMB("VmRSS")
	assert.Greater(t, rss, 0.0)
	assert.GreaterOrEqual(t, ProcStatusMB("VmHWM"), rss, "the peak is at least the resident set read before it")
}

// sink keeps TestCPUSeconds' loop from being optimised away.
var sink float64

func TestCPUSeconds(t *testing.T) {
	a := CPUSeconds()
	for i := 0; i < 20_000_000; i++ {
		sink += float64(i)
	}
	assert.Greater(t, CPUSeconds(), a)
}
