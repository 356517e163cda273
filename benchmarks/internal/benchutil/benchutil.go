// Package benchutil holds the measurements the engine benchmarks share: the
// process's resident set from /proc/self/status, its CPU time and the median
// of timed steps.
package benchutil

import (
	"os"
	"sort"
	"strconv"
	"strings"
	"syscall"
)

// ProcStatusMB reads a kB field of /proc/self/status (VmHWM, the peak
// resident set; VmRSS, the current one) in MB (MiB). It is 0 when the file or
// the field is missing (off Linux).
func ProcStatusMB(field string) float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	return statusMB(string(data), field)
}

// statusMB finds field in the text of a /proc/<pid>/status file.
func statusMB(status, field string) float64 {
	for _, line := range strings.Split(status, "\n") {
		if strings.HasPrefix(line, field+":") {
			if f := strings.Fields(line); len(f) >= 2 {
				kb, _ := strconv.ParseFloat(f[1], 64)
				return kb / 1024
			}
		}
	}
	return 0
}

// CPUSeconds is the process's user+system CPU time (getrusage RUSAGE_SELF);
// 0 when the call fails.
func CPUSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
}

// Median is the median of xs (the mean of the two middle values for an even
// count; 0 for none). xs is not modified.
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 0 {
		return (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return s[len(s)/2]
}
