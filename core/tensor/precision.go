package tensor

import (
	"fmt"
	"strings"
	"sync/atomic"
)

// Precision is the arithmetic of the engine's large matrix products: the
// Linear layers' forward GEMM, their input-gradient GEMM and, for trainable
// Linear weights, the weight-gradient GEMM (GemmParallel). Everything else —
// master weights, gradients, AdamW state, LoRA's rank-r products, attention,
// softmax, layer norm, the loss — stays fp32 in either mode, the split
// torch.autocast(device_type="cpu", dtype=torch.bfloat16) makes for
// nn.Linear.
type Precision int

const (
	// FP32 computes every product in IEEE single precision (OpenBLAS
	// sgemm): the default, and the path the parity tests hold to HF.
	FP32 Precision = iota
	// BF16 rounds both operands of the large products to bfloat16 (8-bit
	// mantissa, round to nearest even) and accumulates in fp32 with
	// oneDNN's AMX or AVX512-BF16 kernels. It needs a CPU with AVX512-BF16
	// and oneDNN 2.x (libdnnl.so.2) at run time; see BF16Available.
	BF16
)

// String returns "fp32" or "bf16".
func (p Precision) String() string {
	if p == BF16 {
		return "bf16"
	}
	return "fp32"
}

// ParsePrecision parses "fp32" or "bf16" (case-insensitive; "" is fp32).
func ParsePrecision(s string) (Precision, error) {
	switch strings.ToLower(s) {
	case "", "fp32", "float32":
		return FP32, nil
	case "bf16", "bfloat16":
		return BF16, nil
	}
	return FP32, fmt.Errorf("unknown precision %q (fp32 or bf16)", s)
}

// MarshalText implements encoding.TextMarshaler.
func (p Precision) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler ("fp32" / "bf16").
func (p *Precision) UnmarshalText(b []byte) error {
	v, err := ParsePrecision(string(b))
	if err != nil {
		return err
	}
	*p = v
	return nil
}

var precision atomic.Int32

// SetPrecision selects the arithmetic of GemmParallel for the whole process
// (like SetThreads). BF16 returns an error, and leaves the precision as it
// was, when BF16Available does.
func SetPrecision(p Precision) error {
	if p == BF16 {
		if err := BF16Available(); err != nil {
			return err
		}
	}
	precision.Store(int32(p))
	return nil
}

// UsePrecision selects p (SetPrecision) until the returned restore runs,
// which puts back the precision in force before: how a training run
// (training.Train, dapt.Run) applies its config's "precision" without
// leaving it behind for whatever the process does next.
func UsePrecision(p Precision) (restore func(), err error) {
	prev := CurrentPrecision()
	if err := SetPrecision(p); err != nil {
		return nil, fmt.Errorf("precision %s: %w", p, err)
	}
	return func() { precision.Store(int32(prev)) }, nil
}

// CurrentPrecision is the precision SetPrecision chose (FP32 by default).
func CurrentPrecision() Precision { return Precision(precision.Load()) }

// GemmParallel is the product of the layers that dominate a step
// (model.Linear): SgemmParallel in FP32, the bf16 path in BF16. Arguments
// are Sgemm's.
func GemmParallel(ta, tb Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if CurrentPrecision() == BF16 {
		GemmBF16(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	SgemmParallel(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}
