package dapt

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/openmed/openmed/core/tensor"
)

// csrMatrix is a sparse rows×cols matrix in compressed sparse row form,
// columns sorted within each row.
type csrMatrix struct {
	rows, cols int
	ptr        []int
	idx        []int32
	val        []float64
}

// nnz is the number of stored entries.
func (a *csrMatrix) nnz() int { return len(a.idx) }

// transpose returns aᵀ in CSR form (a counting sort, so columns stay sorted
// and the result is deterministic).
func (a *csrMatrix) transpose() *csrMatrix {
	t := &csrMatrix{rows: a.cols, cols: a.rows, ptr: make([]int, a.cols+1), idx: make([]int32, a.nnz()), val: make([]float64, a.nnz())}
	for _, c := range a.idx {
		t.ptr[c+1]++
	}
	for i := 0; i < a.cols; i++ {
		t.ptr[i+1] += t.ptr[i]
	}
	next := slices.Clone(t.ptr[:a.cols])
	for r := 0; r < a.rows; r++ {
		for p := a.ptr[r]; p < a.ptr[r+1]; p++ {
			c := a.idx[p]
			t.idx[next[c]] = int32(r)
			t.val[next[c]] = a.val[p]
			next[c]++
		}
	}
	return t
}

// mulDense sets out (rows×l, row-major) to a·x, x being cols×l, splitting the
// rows over the worker pool. Each output row is summed in a fixed order, so
// the result does not depend on the number of threads.
func (a *csrMatrix) mulDense(out, x []float64, l int) {
	tensor.Parallel(a.rows, 256, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			o := out[r*l : (r+1)*l]
			clear(o)
			for p := a.ptr[r]; p < a.ptr[r+1]; p++ {
				v := a.val[p]
				xr := x[int(a.idx[p])*l : int(a.idx[p]+1)*l]
				for j, xv := range xr {
					o[j] += v * xv
				}
			}
		}
	})
}

// randomizedSVD returns the top k left singular vectors (rows×k, row-major)
// and singular values (descending) of a by randomized subspace iteration
// (Halko, Martinsson & Tropp 2011, "Finding structure with randomness",
// Alg. 4.4 with q power iterations and k+oversample random vectors), then
// the direct SVD of the small projected matrix (their Alg. 5.1). Every
// iterate is re-orthonormalised (CholeskyQR2 in float64, shifted when the
// Gram matrix is numerically singular) and the (k+p)×(k+p) problem is solved
// by one-sided cyclic Jacobi. The Gaussian test matrix comes from seed, so
// the result is deterministic.
func randomizedSVD(a *csrMatrix, k, oversample, q int, seed uint64) ([]float64, []float64, error) {
	if k <= 0 || k > min(a.rows, a.cols) {
		return nil, nil, fmt.Errorf("dapt: randomized SVD rank %d outside [1, %d]", k, min(a.rows, a.cols))
	}
	l := min(k+max(oversample, 0), a.rows, a.cols)
	at := a.transpose()
	r := rand.New(rand.NewPCG(seed, 0x72737664))
	omega := make([]float64, a.cols*l)
	for i := range omega {
		omega[i] = r.NormFloat64()
	}
	y := make([]float64, a.rows*l)
	z := omega
	a.mulDense(y, z, l)
	if _, err := orthonormalize(y, a.rows, l); err != nil {
		return nil, nil, err
	}
	for it := 0; it < q; it++ {
		at.mulDense(z, y, l)
		if _, err := orthonormalize(z, a.cols, l); err != nil {
			return nil, nil, err
		}
		a.mulDense(y, z, l)
		if _, err := orthonormalize(y, a.rows, l); err != nil {
			return nil, nil, err
		}
	}
	// Bᵀ = aᵀ·Q = Q₂·R, so B = Rᵀ·Q₂ᵀ and the SVD Rᵀ = Ū·Σ·Wᵀ gives
	// a ≈ Q·B = (Q·Ū)·Σ·(Q₂·W)ᵀ.
	at.mulDense(z, y, l)
	rf, err := orthonormalize(z, a.cols, l)
	if err != nil {
		return nil, nil, err
	}
	rt := make([]float64, l*l)
	for i := 0; i < l; i++ {
		for j := 0; j < l; j++ {
			rt[i*l+j] = rf[j*l+i]
		}
	}
	ub, s := jacobiSVD(rt, l, l)
	// Keep the first k columns of Ū.
	uk := make([]float64, l*k)
	for i := 0; i < l; i++ {
		copy(uk[i*k:(i+1)*k], ub[i*l:i*l+k])
	}
	u := make([]float64, a.rows*k)
	tensor.Dgemm(tensor.NoTrans, tensor.NoTrans, a.rows, k, l, 1, y, l, uk, k, 0, u, k)
	return u, s[:k], nil
}

// orthonormalize replaces the n×l matrix y (row-major, n ≥ l) by Q with
// y = Q·R, QᵀQ = I, and returns the upper-triangular R (l×l). It runs
// CholeskyQR until two passes in a row succeed without a shift (CholeskyQR2,
// Fukaya et al. 2014); a Gram matrix that is not numerically positive definite
// gets the shift of shifted CholeskyQR (Fukaya et al. 2020, §3) first. Gram
// matrices and the triangular factors are float64.
func orthonormalize(y []float64, n, l int) ([]float64, error) {
	if n < l {
		return nil, fmt.Errorf("dapt: cannot orthonormalise %d columns of length %d", l, n)
	}
	rTot := make([]float64, l*l)
	for i := 0; i < l; i++ {
		rTot[i*l+i] = 1
	}
	g := make([]float64, l*l)
	tmp := make([]float64, n*l)
	clean := 0
	for pass := 0; pass < 8 && clean < 2; pass++ {
		tensor.Dgemm(tensor.Trans, tensor.NoTrans, l, l, n, 1, y, l, y, l, 0, g, l)
		rr, ok := cholesky(g, l, 0)
		if ok {
			clean++
		} else {
			clean = 0
			tr := 0.0
			for i := 0; i < l; i++ {
				tr += g[i*l+i]
			}
			shift := 11 * float64(n*l+l*(l+1)) * 0x1p-53 * tr
			if rr, ok = cholesky(g, l, shift); !ok {
				return nil, fmt.Errorf("dapt: CholeskyQR failed even with a shift (non-finite matrix?)")
			}
		}
		inv := invUpper(rr, l)
		tensor.Dgemm(tensor.NoTrans, tensor.NoTrans, n, l, l, 1, y, l, inv, l, 0, tmp, l)
		copy(y, tmp)
		next := make([]float64, l*l)
		tensor.Dgemm(tensor.NoTrans, tensor.NoTrans, l, l, l, 1, rr, l, rTot, l, 0, next, l)
		rTot = next
	}
	if clean < 2 {
		// Numerically rank-deficient: finish with Gram-Schmidt, which
		// replaces dependent columns by fresh orthogonal directions.
		r2 := gramSchmidt2(y, n, l)
		next := make([]float64, l*l)
		tensor.Dgemm(tensor.NoTrans, tensor.NoTrans, l, l, l, 1, r2, l, rTot, l, 0, next, l)
		rTot = next
	}
	return rTot, nil
}

// gramSchmidt2 orthonormalises the n×l matrix y in place by classical
// Gram-Schmidt with re-orthogonalisation ("twice is enough", Giraud et al.
// 2005) in float64 and returns R (y = Q·R). A column that is (numerically)
// in the span of the previous ones gets R's diagonal 0 and is replaced by a
// unit vector orthogonal to them (deterministic: the least-used coordinate
// axis after projection), keeping Q orthonormal.
func gramSchmidt2(y []float64, n, l int) []float64 {
	cols := make([][]float64, l)
	for j := range cols {
		c := make([]float64, n)
		for i := 0; i < n; i++ {
			c[i] = y[i*l+j]
		}
		cols[j] = c
	}
	r := make([]float64, l*l)
	project := func(v []float64, j int, acc bool) {
		for pass := 0; pass < 2; pass++ {
			for p := 0; p < j; p++ {
				d := 0.0
				for i, x := range cols[p] {
					d += x * v[i]
				}
				for i, x := range cols[p] {
					v[i] -= d * x
				}
				if acc {
					r[p*l+j] += d
				}
			}
		}
	}
	norm := func(v []float64) float64 {
		s := 0.0
		for _, x := range v {
			s += x * x
		}
		return math.Sqrt(s)
	}
	for j := 0; j < l; j++ {
		v := cols[j]
		before := norm(v)
		project(v, j, true)
		nv := norm(v)
		if nv <= 1e-10*before || nv == 0 {
			best, bestNorm := 0, -1.0
			for axis := 0; axis < n; axis++ {
				clear(v)
				v[(j+axis)%n] = 1
				project(v, j, false)
				if nv = norm(v); nv > bestNorm {
					best, bestNorm = axis, nv
				}
				if nv > 0.5 {
					break
				}
			}
			clear(v)
			v[(j+best)%n] = 1
			project(v, j, false)
			nv = norm(v)
		} else {
			r[j*l+j] = nv
		}
		for i := range v {
			v[i] /= nv
		}
	}
	for j, c := range cols {
		for i := 0; i < n; i++ {
			y[i*l+j] = c[i]
		}
	}
	return r
}

// cholesky returns the upper-triangular R with RᵀR = g + shift·I (g l×l,
// symmetric), and false when a pivot is not safely positive.
func cholesky(g []float64, l int, shift float64) ([]float64, bool) {
	r := make([]float64, l*l)
	maxDiag := 0.0
	for i := 0; i < l; i++ {
		maxDiag = max(maxDiag, g[i*l+i])
	}
	for j := 0; j < l; j++ {
		d := g[j*l+j] + shift
		for k := 0; k < j; k++ {
			d -= r[k*l+j] * r[k*l+j]
		}
		if !(d > 1e-14*maxDiag) || math.IsInf(d, 0) {
			return nil, false
		}
		d = math.Sqrt(d)
		r[j*l+j] = d
		for i := j + 1; i < l; i++ {
			v := g[j*l+i]
			for k := 0; k < j; k++ {
				v -= r[k*l+j] * r[k*l+i]
			}
			r[j*l+i] = v / d
		}
	}
	return r, true
}

// invUpper inverts the upper-triangular l×l matrix r.
func invUpper(r []float64, l int) []float64 {
	inv := make([]float64, l*l)
	for j := l - 1; j >= 0; j-- {
		inv[j*l+j] = 1 / r[j*l+j]
		for i := j - 1; i >= 0; i-- {
			s := 0.0
			for k := i + 1; k <= j; k++ {
				s += r[i*l+k] * inv[k*l+j]
			}
			inv[i*l+j] = -s / r[i*l+i]
		}
	}
	return inv
}

// jacobiSVD returns the left singular vectors (m×n row-major, columns in
// order of decreasing singular value) and the singular values of the m×n
// matrix a (m ≥ n) by one-sided cyclic Jacobi (Hestenes 1958; Demmel &
// Veselić 1992): plane rotations orthogonalise every column pair until all
// pairs are orthogonal to working precision, in float64.
func jacobiSVD(a []float64, m, n int) ([]float64, []float64) {
	// Work on columns as contiguous rows of the transpose.
	c := make([]float64, n*m)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			c[j*m+i] = a[i*n+j]
		}
	}
	tol := float64(m) * 0x1p-53
	for sweep := 0; sweep < 60; sweep++ {
		rotated := false
		for p := 0; p < n-1; p++ {
			cp := c[p*m : (p+1)*m]
			for q := p + 1; q < n; q++ {
				cq := c[q*m : (q+1)*m]
				var alpha, beta, gamma float64
				for i := range cp {
					alpha += cp[i] * cp[i]
					beta += cq[i] * cq[i]
					gamma += cp[i] * cq[i]
				}
				if gamma == 0 || math.Abs(gamma) <= tol*math.Sqrt(alpha*beta) {
					continue
				}
				rotated = true
				zeta := (beta - alpha) / (2 * gamma)
				t := math.Copysign(1, zeta) / (math.Abs(zeta) + math.Sqrt(1+zeta*zeta))
				cs := 1 / math.Sqrt(1+t*t)
				sn := cs * t
				for i := range cp {
					x, y := cp[i], cq[i]
					cp[i] = cs*x - sn*y
					cq[i] = sn*x + cs*y
				}
			}
		}
		if !rotated {
			break
		}
	}
	s := make([]float64, n)
	for j := 0; j < n; j++ {
		v := 0.0
		for _, x := range c[j*m : (j+1)*m] {
			v += x * x
		}
		s[j] = math.Sqrt(v)
	}
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(x, y int) int {
		switch {
		case s[x] > s[y]:
			return -1
		case s[x] < s[y]:
			return 1
		}
		return 0
	})
	u := make([]float64, m*n)
	sv := make([]float64, n)
	for k, j := range order {
		sv[k] = s[j]
		if s[j] == 0 {
			continue
		}
		for i := 0; i < m; i++ {
			u[i*n+k] = c[j*m+i] / s[j]
		}
	}
	return u, sv
}
