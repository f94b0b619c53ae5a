/* Shared by phased_dmd_native.c and dnnl_conv.c. */
#ifndef PHASED_DMD_CONV_H
#define PHASED_DMD_CONV_H
#include <stdint.h>

/* Geometry of one NHWC convolution, filter [kh, kw, cin, cout]. */
typedef struct {
  int64_t B, H, W, Cin, Ho, Wo, Cout, kh, kw, sh, sw, dh, dw, pt, pl;
} Conv;


/* oneDNN convolutions (dnnl_conv.c): 1 when done, 0 when oneDNN is not built in, turned
 * off, or cannot take this geometry (the caller then uses im2col + sgemm).
 * kind 0: y = conv(x, W) (+ bias);  1: dx from (dy, W);  2: dW from (x, dy). */
int dnnl_conv(int kind, const Conv *c, const float *a, const float *b, const float *bias, float *out);
/* The implementation oneDNN picked for the last primitive created (for the status line). */
const char *dnnl_conv_info(void);
#endif
