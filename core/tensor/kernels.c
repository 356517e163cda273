// Element-wise kernels of core/tensor in C so that GCC vectorises them
// (-O3, with AVX-512 / AVX2 clones selected at load time by target_clones).
// Each function works on a contiguous range; Go splits the work over its
// worker pool and calls these once per chunk.
#include <math.h>
#include <stdint.h>
#include <string.h>
#include "kernels.h"

// Reassociating float sums (softmax, dot products) and if-converting the
// masked/dropout selects is what lets GCC vectorise these loops.
#pragma GCC optimize("fast-math")

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define OM_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define OM_CLONES
#endif

// Cephes expf: range reduction by ln 2 and a degree-6 polynomial.
static inline __attribute__((always_inline)) float om_expf(float x) {
	x = fminf(fmaxf(x, -87.33654f), 88.72283f);
	float fx = floorf(x * 1.44269504088896341f + 0.5f);
	float r = x - fx * 0.693359375f - fx * -2.12194440e-4f;
	float p = 1.9875691500e-4f;
	p = p * r + 1.3981999507e-3f;
	p = p * r + 8.3334519073e-3f;
	p = p * r + 4.1665795894e-2f;
	p = p * r + 1.6666665459e-1f;
	p = p * r + 5.0000001201e-1f;
	p = p * r * r + r + 1.0f;
	int32_t n = (int32_t)fx;
	uint32_t bits = (uint32_t)(n + 127) << 23;
	float scale;
	memcpy(&scale, &bits, 4);
	return p * scale;
}

// erf(x) by Abramowitz & Stegun 7.1.26; *e receives exp(-x²).
static inline __attribute__((always_inline)) float om_erf(float x, float *e) {
	float ax = fabsf(x);
	float t = 1.0f / (1.0f + 0.3275911f * ax);
	float ex = om_expf(-ax * ax);
	float y = 1.0f - (((((1.061405429f * t - 1.453152027f) * t) + 1.421413741f) * t - 0.284496736f) * t + 0.254829592f) * t * ex;
	*e = ex;
	return copysignf(y, x);
}

static inline __attribute__((always_inline)) float om_tanh(float x) {
	float ax = fminf(fabsf(x), 9.0f);
	float e = om_expf(-2.0f * ax);
	float t = (1.0f - e) / (1.0f + e);
	return copysignf(t, x);
}

#define INV_SQRT2 0.70710678118654752f
#define INV_SQRT2PI 0.39894228040143268f
#define SQRT2_OVER_PI 0.79788456080286536f
#define GELU_C 0.044715f

OM_CLONES
void om_bias_act(float *y, float *z, const float *bias, long rows, long cols, int kind) {
	for (long r = 0; r < rows; r++) {
		float *zr = z + r * cols, *yr = y + r * cols;
		if (bias) {
			for (long j = 0; j < cols; j++) zr[j] += bias[j];
		}
		switch (kind) {
		case 0:
			for (long j = 0; j < cols; j++) {
				float e, v = zr[j];
				float er = om_erf(v * INV_SQRT2, &e);
				yr[j] = 0.5f * v * (1.0f + er);
			}
			break;
		case 1:
			for (long j = 0; j < cols; j++) {
				float v = zr[j];
				yr[j] = 0.5f * v * (1.0f + om_tanh(SQRT2_OVER_PI * (v + GELU_C * v * v * v)));
			}
			break;
		default:
			for (long j = 0; j < cols; j++) yr[j] = fmaxf(zr[j], 0.0f);
		}
	}
}

OM_CLONES
void om_act_backward(float *dz, const float *dy, const float *z, long n, int kind) {
	switch (kind) {
	case 0:
		for (long i = 0; i < n; i++) {
			float e, v = z[i];
			float er = om_erf(v * INV_SQRT2, &e);
			dz[i] = dy[i] * (0.5f * (1.0f + er) + v * e * INV_SQRT2PI);
		}
		break;
	case 1:
		for (long i = 0; i < n; i++) {
			float v = z[i];
			float t = om_tanh(SQRT2_OVER_PI * (v + GELU_C * v * v * v));
			dz[i] = dy[i] * (0.5f * (1.0f + t) + 0.5f * v * (1.0f - t * t) * SQRT2_OVER_PI * (1.0f + 3.0f * GELU_C * v * v));
		}
		break;
	default:
		for (long i = 0; i < n; i++) dz[i] = z[i] > 0.0f ? dy[i] : 0.0f;
	}
}

// Softmax over each of rows rows of width cols; keys with mask[j]==0 get 0.
// A row whose keys are all masked becomes uniform (HF's additive mask).
OM_CLONES
void om_softmax_rows(float *x, long rows, long cols, const float *mask) {
	for (long r = 0; r < rows; r++) {
		float *row = x + r * cols;
		float mx = -3.4e38f;
		int any = 0;
		if (mask) {
			for (long j = 0; j < cols; j++) {
				any += mask[j] != 0.0f;
				mx = fmaxf(mx, mask[j] == 0.0f ? -3.4e38f : row[j]);
			}
		} else {
			any = cols > 0;
			for (long j = 0; j < cols; j++) mx = fmaxf(mx, row[j]);
		}
		if (!any) {
			float u = 1.0f / (float)cols;
			for (long j = 0; j < cols; j++) row[j] = u;
			continue;
		}
		float s = 0.0f;
		if (mask) {
			for (long j = 0; j < cols; j++) {
				float e = om_expf(row[j] - mx);
				e = mask[j] == 0.0f ? 0.0f : e;
				row[j] = e;
				s += e;
			}
		} else {
			for (long j = 0; j < cols; j++) {
				float e = om_expf(row[j] - mx);
				row[j] = e;
				s += e;
			}
		}
		float inv = 1.0f / s;
		for (long j = 0; j < cols; j++) row[j] *= inv;
	}
}

// ds = p ⊙ (dp − Σ dp⊙p) per row (ds may alias dp).
OM_CLONES
void om_softmax_backward_rows(float *ds, const float *dp, const float *p, long rows, long cols) {
	for (long r = 0; r < rows; r++) {
		const float *pr = p + r * cols, *dpr = dp + r * cols;
		float *dsr = ds + r * cols;
		float dot = 0.0f;
		for (long j = 0; j < cols; j++) dot += pr[j] * dpr[j];
		for (long j = 0; j < cols; j++) dsr[j] = pr[j] * (dpr[j] - dot);
	}
}

static inline __attribute__((always_inline)) uint32_t om_hash(uint32_t lo, uint32_t hi, uint32_t i) {
	uint32_t h = (i * 0x9E3779B9u) ^ lo;
	h ^= h >> 16; h *= 0x85EBCA6Bu; h ^= h >> 13; h *= 0xC2B2AE35u; h ^= h >> 16;
	h ^= hi;
	h ^= h >> 16; h *= 0x7FEB352Du; h ^= h >> 15; h *= 0x846CA68Bu; h ^= h >> 16;
	return h;
}

uint32_t om_hash32(uint64_t seed, uint32_t i) { return om_hash((uint32_t)seed, (uint32_t)(seed >> 32), i); }

// Inverted dropout on [0, n) of elements offset.. offset+n−1 of a call with seed.
OM_CLONES
void om_dropout(float *y, const float *x, long n, uint32_t thr, float scale, uint64_t seed, long offset) {
	uint32_t lo = (uint32_t)seed, hi = (uint32_t)(seed >> 32);
	for (long i = 0; i < n; i++) {
		uint32_t h = om_hash(lo, hi, (uint32_t)(offset + i));
		y[i] = h >= thr ? x[i] * scale : 0.0f;
	}
}
