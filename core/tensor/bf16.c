/* bf16.c: see bf16.h. oneDNN's v2 C API (Debian bookworm's libdnnl 2.6) is
 * called through pointers resolved with dlsym; the header supplies the types. */
#include "bf16.h"
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <oneapi/dnnl/dnnl.h>

int om_bf16_cpu(void) {
	unsigned a, b, c, d, r = 0;
	/* CPUID leaf 7 subleaf 1: EAX bit 5 = AVX512_BF16; leaf 7 subleaf 0:
	 * EDX bit 22 = AMX-BF16, bit 24 = AMX-TILE. */
	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(7), "c"(1));
	if (a & (1u << 5)) r |= 1;
	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(7), "c"(0));
	if ((d & (1u << 22)) && (d & (1u << 24))) r |= 2;
	return r;
}

#define OM_DNNL_FUNCS(X)                 \
	X(dnnl_engine_create)                \
	X(dnnl_stream_create)                \
	X(dnnl_memory_desc_init_by_strides)  \
	X(dnnl_matmul_desc_init)             \
	X(dnnl_primitive_attr_create)        \
	X(dnnl_primitive_attr_destroy)       \
	X(dnnl_primitive_attr_set_output_scales) \
	X(dnnl_primitive_attr_set_post_ops)  \
	X(dnnl_post_ops_create)              \
	X(dnnl_post_ops_destroy)             \
	X(dnnl_post_ops_append_sum)          \
	X(dnnl_primitive_desc_create)        \
	X(dnnl_primitive_desc_destroy)       \
	X(dnnl_primitive_desc_query)         \
	X(dnnl_primitive_create)             \
	X(dnnl_primitive_execute)            \
	X(dnnl_memory_create)                \
	X(dnnl_memory_destroy)               \
	X(dnnl_stream_wait)                  \
	X(dnnl_primitive_destroy)            \
	X(dnnl_primitive_attr_set_scratchpad_mode) \
	X(dnnl_memory_desc_get_size)

#define OM_DECL(f) static __typeof__(&f) p_##f;
OM_DNNL_FUNCS(OM_DECL)

static pthread_mutex_t load_mu = PTHREAD_MUTEX_INITIALIZER;
static int loaded; /* 1 ok, -1 failed */
static char load_err[256];
static dnnl_engine_t engine;
static __thread dnnl_stream_t stream;
/* oneDNN runs on GNU OpenMP; each calling thread is one of the engine's Go
 * workers, so its OpenMP team is set to one thread (a per-thread setting).
 * This must hold when a primitive is created too: oneDNN partitions the work
 * for omp_get_max_threads() threads at creation, and a primitive built for
 * two threads but run by one computes only the first thread's share. */
static void (*p_omp_set_num_threads)(int);
static __thread int omp_single;

static void single_threaded(void) {
	if (!omp_single) {
		if (p_omp_set_num_threads) p_omp_set_num_threads(1);
		omp_single = 1;
	}
}

int om_bf16_load(char *err, int errlen) {
	pthread_mutex_lock(&load_mu);
	if (loaded == 0) {
		void *h = dlopen("libdnnl.so.2", RTLD_NOW | RTLD_LOCAL);
		loaded = 1;
		if (h == NULL) {
			snprintf(load_err, sizeof load_err, "cannot load oneDNN (libdnnl.so.2; Debian: apt install libdnnl2): %s", dlerror());
			loaded = -1;
		}
#define OM_SYM(f)                                                                            \
	if (loaded == 1 && (p_##f = (__typeof__(&f))dlsym(h, #f)) == NULL) {                     \
		snprintf(load_err, sizeof load_err, "oneDNN (libdnnl.so.2) lacks %s: need oneDNN 2.x", #f); \
		loaded = -1;                                                                         \
	}
		OM_DNNL_FUNCS(OM_SYM)
		if (loaded == 1) p_omp_set_num_threads = (void (*)(int))dlsym(h, "omp_set_num_threads");
		if (loaded == 1 && p_dnnl_engine_create(&engine, dnnl_cpu, 0) != dnnl_success) {
			snprintf(load_err, sizeof load_err, "oneDNN: cannot create the CPU engine");
			loaded = -1;
		}
	}
	int rc = loaded == 1 ? 0 : -1;
	if (rc != 0) snprintf(err, errlen, "%s", load_err);
	pthread_mutex_unlock(&load_mu);
	return rc;
}

/* Round to nearest even; NaNs stay NaNs (quiet bit set). One loop, compiled
 * twice: with AVX-512 enabled the compiler vectorises it 16 wide, and the
 * portable copy serves CPUs without AVX-512 (AMD Zen 2/3, older Intel),
 * chosen once per call by __builtin_cpu_supports. */
#define OM_F32_TO_BF16_BODY                                                                     \
	for (long i = 0; i < rows; i++) {                                                        \
		const uint32_t *s = (const uint32_t *)(src + i * ld);                            \
		uint16_t *o = dst + i * cols;                                                    \
		for (long j = 0; j < cols; j++) {                                                \
			uint32_t u = s[j];                                                       \
			uint32_t r = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;                     \
			o[j] = (u & 0x7fffffffu) > 0x7f800000u ? (uint16_t)((u >> 16) | 0x40u)   \
			                                       : (uint16_t)r;                    \
		}                                                                                \
	}

__attribute__((target("avx512f,avx512bw,avx512vl")))
static void f32_to_bf16_avx512(uint16_t *dst, const float *src, long rows, long cols, long ld) {
	OM_F32_TO_BF16_BODY
}

static void f32_to_bf16_portable(uint16_t *dst, const float *src, long rows, long cols, long ld) {
	OM_F32_TO_BF16_BODY
}

void om_f32_to_bf16(uint16_t *dst, const float *src, long rows, long cols, long ld) {
	if (__builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl"))
		f32_to_bf16_avx512(dst, src, rows, cols, ld);
	else
		f32_to_bf16_portable(dst, src, rows, cols, ld);
}

void om_bf16_to_f32(float *dst, const uint16_t *src, long n) {
	uint32_t *d = (uint32_t *)dst;
	for (long i = 0; i < n; i++) d[i] = (uint32_t)src[i] << 16;
}

/* Each primitive gets its scratchpad from the caller (scratchpad mode
 * "user"): in the default "library" mode oneDNN builds without
 * ONEDNN_ENABLE_CONCURRENT_EXEC (Debian's) share one scratchpad between
 * primitives, and two Go workers running products at once overwrite each
 * other's partial results. */
struct om_mm {
	dnnl_primitive_t prim;
	dnnl_memory_desc_t a, b, c, scratch;
	size_t scratch_size;
};

static __thread void *scratch_buf;
static __thread size_t scratch_cap;

om_mm *om_bf16_mm_create(long b0, long b1, long m, long n, long k, const long *sa, const long *sb,
                         const long *sc, float alpha, float beta, char *impl, int impllen,
                         char *err, int errlen) {
	single_threaded();
	om_mm *mm = calloc(1, sizeof *mm);
	/* 4-D [b0, b1, rows, cols] views, or 2-D (b0 == 0: the last two strides). */
	int nd = b0 > 0 ? 4 : 2, o = 4 - nd;
	dnnl_dims_t ad = {b0, b1, m, k}, bd = {b0, b1, k, n}, cd = {b0, b1, m, n}, as, bs, cs;
	if (nd == 2) {
		ad[0] = m, ad[1] = k, bd[0] = k, bd[1] = n, cd[0] = m, cd[1] = n;
	}
	for (int i = 0; i < nd; i++) as[i] = sa[o + i], bs[i] = sb[o + i], cs[i] = sc[o + i];
	dnnl_matmul_desc_t desc;
	dnnl_primitive_attr_t attr = NULL;
	dnnl_post_ops_t ops = NULL;
	dnnl_primitive_desc_t pd = NULL;
	dnnl_status_t st;
	const char *what = "memory descriptors";
	if ((st = p_dnnl_memory_desc_init_by_strides(&mm->a, nd, ad, dnnl_bf16, as)) != dnnl_success ||
	    (st = p_dnnl_memory_desc_init_by_strides(&mm->b, nd, bd, dnnl_bf16, bs)) != dnnl_success ||
	    (st = p_dnnl_memory_desc_init_by_strides(&mm->c, nd, cd, dnnl_f32, cs)) != dnnl_success)
		goto fail;
	what = "matmul descriptor";
	if ((st = p_dnnl_matmul_desc_init(&desc, &mm->a, &mm->b, NULL, &mm->c)) != dnnl_success) goto fail;
	what = "attributes";
	if ((st = p_dnnl_primitive_attr_create(&attr)) != dnnl_success) goto fail;
	if ((st = p_dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user)) != dnnl_success) goto fail;
	if (alpha != 1.0f && (st = p_dnnl_primitive_attr_set_output_scales(attr, 1, 0, &alpha)) != dnnl_success) goto fail;
	if (beta != 0.0f) {
		if ((st = p_dnnl_post_ops_create(&ops)) != dnnl_success ||
		    (st = p_dnnl_post_ops_append_sum(ops, beta)) != dnnl_success ||
		    (st = p_dnnl_primitive_attr_set_post_ops(attr, ops)) != dnnl_success)
			goto fail;
	}
	what = "primitive descriptor";
	if ((st = p_dnnl_primitive_desc_create(&pd, &desc, attr, engine, NULL)) != dnnl_success) goto fail;
	const char *name = NULL;
	if (p_dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &name) == dnnl_success && name != NULL)
		snprintf(impl, impllen, "%s", name);
	const dnnl_memory_desc_t *smd = NULL;
	if (p_dnnl_primitive_desc_query(pd, dnnl_query_scratchpad_md, 0, &smd) == dnnl_success && smd != NULL) {
		mm->scratch = *smd;
		mm->scratch_size = p_dnnl_memory_desc_get_size(smd);
	}
	what = "primitive";
	if ((st = p_dnnl_primitive_create(&mm->prim, pd)) != dnnl_success) goto fail;
	p_dnnl_primitive_desc_destroy(pd);
	if (ops) p_dnnl_post_ops_destroy(ops);
	p_dnnl_primitive_attr_destroy(attr);
	return mm;
fail:
	snprintf(err, errlen, "oneDNN bf16 matmul %ldx%ldx%ld: %s failed (status %d)", m, n, k, what, (int)st);
	if (pd) p_dnnl_primitive_desc_destroy(pd);
	if (ops) p_dnnl_post_ops_destroy(ops);
	if (attr) p_dnnl_primitive_attr_destroy(attr);
	free(mm);
	return NULL;
}

int om_bf16_mm_exec(om_mm *mm, const uint16_t *a, const uint16_t *b, float *c) {
	dnnl_status_t st;
	if (stream == NULL && (st = p_dnnl_stream_create(&stream, engine, dnnl_stream_default_flags)) != dnnl_success)
		return (int)st;
	single_threaded();
	if (mm->scratch_size > scratch_cap) {
		free(scratch_buf);
		scratch_cap = 0;
		if ((scratch_buf = aligned_alloc(64, (mm->scratch_size + 63) / 64 * 64)) == NULL) return (int)dnnl_out_of_memory;
		scratch_cap = mm->scratch_size;
	}
	dnnl_memory_t ma = NULL, mb = NULL, mc = NULL, ms = NULL;
	if ((st = p_dnnl_memory_create(&ma, &mm->a, engine, (void *)a)) == dnnl_success &&
	    (st = p_dnnl_memory_create(&mb, &mm->b, engine, (void *)b)) == dnnl_success &&
	    (st = p_dnnl_memory_create(&mc, &mm->c, engine, c)) == dnnl_success &&
	    (mm->scratch_size == 0 || (st = p_dnnl_memory_create(&ms, &mm->scratch, engine, scratch_buf)) == dnnl_success)) {
		dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, ma}, {DNNL_ARG_WEIGHTS, mb}, {DNNL_ARG_DST, mc}, {DNNL_ARG_SCRATCHPAD, ms}};
		st = p_dnnl_primitive_execute(mm->prim, stream, ms ? 4 : 3, args);
		if (st == dnnl_success) st = p_dnnl_stream_wait(stream);
	}
	if (ma) p_dnnl_memory_destroy(ma);
	if (mb) p_dnnl_memory_destroy(mb);
	if (mc) p_dnnl_memory_destroy(mc);
	if (ms) p_dnnl_memory_destroy(ms);
	return (int)st;
}

void om_bf16_mm_destroy(om_mm *mm) {
	if (mm == NULL) return;
	if (mm->prim) p_dnnl_primitive_destroy(mm->prim);
	free(mm);
}
