#include <stdint.h>
void om_bias_act(float *y, float *z, const float *bias, long rows, long cols, int kind);
void om_act_backward(float *dz, const float *dy, const float *z, long n, int kind);
void om_softmax_rows(float *x, long rows, long cols, const float *mask);
void om_softmax_backward_rows(float *ds, const float *dp, const float *p, long rows, long cols);
uint32_t om_hash32(uint64_t seed, uint32_t i);
void om_dropout(float *y, const float *x, long n, uint32_t thr, float scale, uint64_t seed, long offset);
