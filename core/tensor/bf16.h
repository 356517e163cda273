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

/* om_mm is one oneDNN matmul primitive C = alpha*A*B + beta*C over 2-D
 * [m,k]x[k,n] views or, with b0 > 0, batches of them: 4-D [b0,b1,m,k] x
 * [b0,b1,k,n] views. A and B are bf16, C fp32; every operand is addressed
 * by strides (element (i,j,r,c) at i*s[0] + j*s[1] + r*s[2] + c*s[3]; 2-D
 * views use s[2], s[3]), so transposes and heads inside [tokens, hidden]
 * activations need no copies. */
typedef struct om_mm om_mm;

/* om_bf16_mm_create builds a primitive; NULL with a message in err on failure.
 * impl receives oneDNN's implementation name (e.g. "brg:avx512_core_amx_bf16"). */
om_mm *om_bf16_mm_create(long b0, long b1, long m, long n, long k, const long *sa, const long *sb,
                         const long *sc, float alpha, float beta, char *impl, int impllen,
                         char *err, int errlen);

/* om_bf16_mm_exec runs a primitive on the calling thread; 0 or a oneDNN status. */
int om_bf16_mm_exec(om_mm *mm, const uint16_t *a, const uint16_t *b, float *c);

/* om_bf16_mm_destroy frees a primitive. */
void om_bf16_mm_destroy(om_mm *mm);

#endif
