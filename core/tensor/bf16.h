/* bf16.h: the engine's optional bf16 matrix products through oneDNN (loaded
 * with dlopen, so the fp32 engine has no oneDNN dependency). */
#ifndef OPENMED_BF16_H
#define OPENMED_BF16_H
#include <stdint.h>

/* om_bf16_cpu reports whether the CPU has AVX512-BF16 (bit 0) and AMX-BF16
 * (bit 1). */
int om_bf16_cpu(void);

/* om_bf16_load dlopens oneDNN v2 (libdnnl.so.2) and creates the CPU engine.
 * It returns 0, or -1 with a message in err. Safe to call repeatedly. */
int om_bf16_load(char *err, int errlen);

/* om_f32_to_bf16 converts a rows x cols fp32 matrix with row stride ld into
 * a dense bf16 matrix (round to nearest even; NaN stays NaN). */
void om_f32_to_bf16(uint16_t *dst, const float *src, long rows, long cols, long ld);

/* om_bf16_to_f32 widens n bf16 values (exact). */
void om_bf16_to_f32(float *dst, const uint16_t *src, long n);

/* om_mm is one oneDNN matmul primitive C[m,n] = alpha*op(A)*op(B) + beta*C
 * with bf16 A and B (element (i,p) of op(A) at a[i*sa0 + p*sa1], likewise B)
 * and fp32 C (row stride ldc). */
typedef struct om_mm om_mm;

/* om_bf16_mm_create builds a primitive; NULL with a message in err on failure.
 * impl receives oneDNN's implementation name (e.g. "brg:avx512_core_amx_bf16"). */
om_mm *om_bf16_mm_create(long m, long n, long k, long sa0, long sa1, long sb0, long sb1,
                         long ldc, float alpha, float beta, char *impl, int impllen,
                         char *err, int errlen);

/* om_bf16_mm_exec runs a primitive on the calling thread; 0 or a oneDNN status. */
int om_bf16_mm_exec(om_mm *mm, const uint16_t *a, const uint16_t *b, float *c);

/* om_bf16_mm_destroy frees a primitive. */
void om_bf16_mm_destroy(om_mm *mm);

#endif
