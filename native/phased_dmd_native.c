/*
 * Optional native kernels for the TensorFlow.js wasm backend (see lib/backend/native.ts).
 *
 * Every function works in place on the wasm heap: JS passes the heap as one Float32Array
 * plus element offsets, so no tensor data is copied in or out. Matrix products go to the
 * system BLAS (cblas_sgemm, Debian's OpenBLAS); convolutions are im2col + sgemm per
 * image, images spread over OpenMP threads.
 */
#include <node_api.h>
#include <cblas.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <omp.h>

#define CHECK(call)                                                              \
  do {                                                                           \
    if ((call) != napi_ok) {                                                     \
      napi_throw_error(env, NULL, "phased_dmd_native: bad argument (" #call ")"); \
      return NULL;                                                               \
    }                                                                            \
  } while (0)

#define MAX_ARGS 256

typedef struct {
  napi_value argv[MAX_ARGS];
  size_t argc;
} Args;

static float *heap_of(napi_env env, napi_value v, size_t *length) {
  napi_typedarray_type type;
  void *data = NULL;
  napi_value ab;
  size_t offset = 0;
  if (napi_get_typedarray_info(env, v, &type, length, &data, &ab, &offset) != napi_ok || type != napi_float32_array) return NULL;
  return (float *)data;
}

static int64_t i64(napi_env env, napi_value v) {
  int64_t x = 0;
  napi_get_value_int64(env, v, &x);
  return x;
}

static double f64(napi_env env, napi_value v) {
  double x = 0;
  napi_get_value_double(env, v, &x);
  return x;
}

static int get_args(napi_env env, napi_callback_info info, Args *a, size_t want) {
  a->argc = MAX_ARGS;
  if (napi_get_cb_info(env, info, &a->argc, a->argv, NULL, NULL) != napi_ok) return 0;
  if (a->argc < want) {
    napi_throw_error(env, NULL, "phased_dmd_native: too few arguments");
    return 0;
  }
  return 1;
}

/* Range check: [off, off + n) inside the heap. */
static int in_heap(napi_env env, int64_t off, int64_t n, size_t len) {
  if (off < 0 || n < 0 || (uint64_t)(off + n) > (uint64_t)len) {
    napi_throw_range_error(env, NULL, "phased_dmd_native: tensor outside the heap");
    return 0;
  }
  return 1;
}

enum { ACT_LINEAR = 0, ACT_RELU = 1, ACT_RELU6 = 2, ACT_LEAKYRELU = 3, ACT_SIGMOID = 4, ACT_ELU = 5 };

static void bias_act(float *c, int64_t m, int64_t n, const float *bias, int act, float alpha) {
  for (int64_t i = 0; i < m; i++) {
    float *row = c + i * n;
    if (bias != NULL)
      for (int64_t j = 0; j < n; j++) row[j] += bias[j];
    switch (act) {
      case ACT_RELU:
        for (int64_t j = 0; j < n; j++) row[j] = row[j] > 0 ? row[j] : 0;
        break;
      case ACT_RELU6:
        for (int64_t j = 0; j < n; j++) row[j] = row[j] < 0 ? 0 : (row[j] > 6 ? 6 : row[j]);
        break;
      case ACT_LEAKYRELU:
        for (int64_t j = 0; j < n; j++) row[j] = row[j] >= 0 ? row[j] : alpha * row[j];
        break;
      case ACT_SIGMOID:
        for (int64_t j = 0; j < n; j++) row[j] = 1.0f / (1.0f + expf(-row[j]));
        break;
      case ACT_ELU:
        for (int64_t j = 0; j < n; j++) row[j] = row[j] >= 0 ? row[j] : expf(row[j]) - 1.0f;
        break;
      default:
        break;
    }
  }
}

/*
 * gemm(heap, batch, transA, transB, M, N, K, aOff, aStride, bOff, bStride, cOff,
 *      biasOff, act, alpha)
 * C[i] = act(op(A[i])·op(B[i]) + bias) for i < batch, row-major; a stride of 0
 * broadcasts that operand over the batch. biasOff < 0: no bias.
 */
static napi_value gemm(napi_env env, napi_callback_info info) {
  Args a;
  if (!get_args(env, info, &a, 15)) return NULL;
  size_t len = 0;
  float *heap = heap_of(env, a.argv[0], &len);
  if (heap == NULL) {
    napi_throw_type_error(env, NULL, "phased_dmd_native.gemm: heap must be a Float32Array");
    return NULL;
  }
  int64_t batch = i64(env, a.argv[1]);
  bool ta = false, tb = false;
  CHECK(napi_get_value_bool(env, a.argv[2], &ta));
  CHECK(napi_get_value_bool(env, a.argv[3], &tb));
  int64_t M = i64(env, a.argv[4]), N = i64(env, a.argv[5]), K = i64(env, a.argv[6]);
  int64_t aOff = i64(env, a.argv[7]), aStride = i64(env, a.argv[8]);
  int64_t bOff = i64(env, a.argv[9]), bStride = i64(env, a.argv[10]);
  int64_t cOff = i64(env, a.argv[11]);
  int64_t biasOff = i64(env, a.argv[12]);
  int act = (int)i64(env, a.argv[13]);
  float alpha = (float)f64(env, a.argv[14]);
  if (batch < 1 || M < 0 || N < 0 || K < 0) {
    napi_throw_range_error(env, NULL, "phased_dmd_native.gemm: bad sizes");
    return NULL;
  }
  if (!in_heap(env, aOff, aStride * (batch - 1) + M * K, len) || !in_heap(env, bOff, bStride * (batch - 1) + K * N, len) ||
      !in_heap(env, cOff, batch * M * N, len) || (biasOff >= 0 && !in_heap(env, biasOff, N, len)))
    return NULL;
  const float *bias = biasOff >= 0 ? heap + biasOff : NULL;
  for (int64_t i = 0; i < batch; i++) {
    float *C = heap + cOff + i * M * N;
    /* The bias goes in as C's initial rows (β = 1): a write before the product instead of a
     * read-modify-write pass after it (that pass cost half the product at 1024×256×256). */
    if (bias != NULL)
      for (int64_t r = 0; r < M; r++) memcpy(C + r * N, bias, sizeof(float) * N);
    else if (K == 0)
      memset(C, 0, sizeof(float) * M * N);
    if (K > 0)
      cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, (int)M, (int)N, (int)K, 1.0f,
                  heap + aOff + i * aStride, ta ? (int)M : (int)K, heap + bOff + i * bStride, tb ? (int)K : (int)N, bias != NULL ? 1.0f : 0.0f, C,
                  (int)N);
    if (act != ACT_LINEAR) bias_act(C, M, N, NULL, act, alpha);
  }
  return NULL;
}

#include "conv.h"

static int read_conv(napi_env env, Args *a, size_t first, Conv *c) {
  int64_t *f = &c->B;
  for (int i = 0; i < 15; i++) f[i] = i64(env, a->argv[first + i]);
  if (c->B < 1 || c->H < 1 || c->W < 1 || c->Cin < 1 || c->Ho < 1 || c->Wo < 1 || c->Cout < 1 || c->kh < 1 || c->kw < 1 || c->sh < 1 ||
      c->sw < 1 || c->dh < 1 || c->dw < 1) {
    napi_throw_range_error(env, NULL, "phased_dmd_native: bad convolution geometry");
    return 0;
  }
  return 1;
}

/* A 1×1, stride-1, unpadded convolution is a plain matrix product over pixels. */
static int is_pointwise(const Conv *c) {
  return c->kh == 1 && c->kw == 1 && c->sh == 1 && c->sw == 1 && c->pt == 0 && c->pl == 0 && c->Ho == c->H && c->Wo == c->W;
}

/* col[(n·Ho + oy)·Wo + ox][(ky·kw + kx)·Cin + ci] = x[n, oy·sh − pt + ky·dh, ox·sw − pl + kx·dw, ci] (0 outside). */
static void im2col(const Conv *c, const float *x, int64_t n0, int64_t nImg, float *col) {
  const int64_t K = c->kh * c->kw * c->Cin;
  for (int64_t n = 0; n < nImg; n++) {
    const float *xn = x + (n0 + n) * c->H * c->W * c->Cin;
    for (int64_t oy = 0; oy < c->Ho; oy++)
      for (int64_t ox = 0; ox < c->Wo; ox++) {
        float *row = col + ((n * c->Ho + oy) * c->Wo + ox) * K;
        for (int64_t ky = 0; ky < c->kh; ky++) {
          const int64_t iy = oy * c->sh - c->pt + ky * c->dh;
          for (int64_t kx = 0; kx < c->kw; kx++) {
            const int64_t ix = ox * c->sw - c->pl + kx * c->dw;
            float *dst = row + (ky * c->kw + kx) * c->Cin;
            if (iy < 0 || iy >= c->H || ix < 0 || ix >= c->W)
              memset(dst, 0, sizeof(float) * c->Cin);
            else
              memcpy(dst, xn + (iy * c->W + ix) * c->Cin, sizeof(float) * c->Cin);
          }
        }
      }
  }
}

/* The adjoint of im2col: dx[n, iy, ix, ci] += col[...] (dx zeroed by the caller). */
static void col2im(const Conv *c, const float *col, int64_t n0, int64_t nImg, float *dx) {
  const int64_t K = c->kh * c->kw * c->Cin;
  for (int64_t n = 0; n < nImg; n++) {
    float *dxn = dx + (n0 + n) * c->H * c->W * c->Cin;
    for (int64_t oy = 0; oy < c->Ho; oy++)
      for (int64_t ox = 0; ox < c->Wo; ox++) {
        const float *row = col + ((n * c->Ho + oy) * c->Wo + ox) * K;
        for (int64_t ky = 0; ky < c->kh; ky++) {
          const int64_t iy = oy * c->sh - c->pt + ky * c->dh;
          if (iy < 0 || iy >= c->H) continue;
          for (int64_t kx = 0; kx < c->kw; kx++) {
            const int64_t ix = ox * c->sw - c->pl + kx * c->dw;
            if (ix < 0 || ix >= c->W) continue;
            const float *src = row + (ky * c->kw + kx) * c->Cin;
            float *dst = dxn + (iy * c->W + ix) * c->Cin;
            for (int64_t ci = 0; ci < c->Cin; ci++) dst[ci] += src[ci];
          }
        }
      }
  }
}

/* Work is split by image: one image's column matrix (e.g. 784 × 288 floats, 0.9 MB) stays
 * in cache between im2col and the product, and images go to OpenMP threads, each running
 * a single-threaded sgemm (OpenBLAS does not nest inside a parallel region). */
static int64_t col_floats(const Conv *c) { return c->Ho * c->Wo * c->kh * c->kw * c->Cin; }

/* Which of x / filter / y a conv function reads and writes, for range checks. */
static int conv_in_heap(napi_env env, const Conv *c, size_t len, int64_t xOff, int64_t wOff, int64_t yOff) {
  return in_heap(env, xOff, c->B * c->H * c->W * c->Cin, len) && in_heap(env, wOff, c->kh * c->kw * c->Cin * c->Cout, len) &&
         in_heap(env, yOff, c->B * c->Ho * c->Wo * c->Cout, len);
}

/* y[n] = im2col(x[n])·W for every image n. Returns 0 when out of memory. */
static int conv_forward(const Conv *c, const float *x, const float *w, float *y) {
  const int64_t K = c->kh * c->kw * c->Cin, P = c->Ho * c->Wo;
  if (is_pointwise(c)) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)(c->B * P), (int)c->Cout, (int)K, 1.0f, x, (int)K, w, (int)c->Cout, 0.0f, y, (int)c->Cout);
    return 1;
  }
  int ok = 1;
#pragma omp parallel
  {
    float *col = malloc(sizeof(float) * col_floats(c));
    if (col == NULL) {
#pragma omp atomic write
      ok = 0;
    } else {
#pragma omp for schedule(static)
      for (int64_t n = 0; n < c->B; n++) {
        im2col(c, x, n, 1, col);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)P, (int)c->Cout, (int)K, 1.0f, col, (int)K, w, (int)c->Cout, 0.0f, y + n * P * c->Cout,
                    (int)c->Cout);
      }
      free(col);
    }
  }
  return ok;
}

/* dW = Σ_n im2col(x[n])ᵀ·dy[n]: per-thread partial sums, then added up. */
static int conv_filter_grad(const Conv *c, const float *x, const float *dy, float *dw) {
  const int64_t K = c->kh * c->kw * c->Cin, P = c->Ho * c->Wo, KC = K * c->Cout;
  if (is_pointwise(c)) {
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)K, (int)c->Cout, (int)(c->B * P), 1.0f, x, (int)K, dy, (int)c->Cout, 0.0f, dw, (int)c->Cout);
    return 1;
  }
  /* one partial sum per thread, added up in thread order afterwards: the same bits every run */
  const int T = omp_get_max_threads();
  float *parts = calloc((size_t)T * KC, sizeof(float));
  if (parts == NULL) return 0;
  int ok = 1;
#pragma omp parallel num_threads(T)
  {
    float *col = malloc(sizeof(float) * col_floats(c));
    float *part = parts + (size_t)omp_get_thread_num() * KC;
    if (col == NULL) {
#pragma omp atomic write
      ok = 0;
    } else {
#pragma omp for schedule(static)
      for (int64_t n = 0; n < c->B; n++) {
        im2col(c, x, n, 1, col);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)K, (int)c->Cout, (int)P, 1.0f, col, (int)K, dy + n * P * c->Cout, (int)c->Cout, 1.0f, part,
                    (int)c->Cout);
      }
    }
    free(col);
  }
  memcpy(dw, parts, sizeof(float) * KC);
  for (int t = 1; t < T; t++)
    for (int64_t i = 0; i < KC; i++) dw[i] += parts[(size_t)t * KC + i];
  free(parts);
  return ok;
}

/* dx[n] = col2im(dy[n]·Wᵀ): images are independent, so threads never write the same pixel. */
static int conv_input_grad(const Conv *c, const float *dy, const float *w, float *dx) {
  const int64_t K = c->kh * c->kw * c->Cin, P = c->Ho * c->Wo;
  if (is_pointwise(c)) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)(c->B * P), (int)K, (int)c->Cout, 1.0f, dy, (int)c->Cout, w, (int)c->Cout, 0.0f, dx, (int)K);
    return 1;
  }
  int ok = 1;
  memset(dx, 0, sizeof(float) * c->B * c->H * c->W * c->Cin);
#pragma omp parallel
  {
    float *col = malloc(sizeof(float) * col_floats(c));
    if (col == NULL) {
#pragma omp atomic write
      ok = 0;
    } else {
#pragma omp for schedule(static)
      for (int64_t n = 0; n < c->B; n++) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)P, (int)K, (int)c->Cout, 1.0f, dy + n * P * c->Cout, (int)c->Cout, w, (int)c->Cout, 0.0f, col,
                    (int)K);
        col2im(c, col, n, 1, dx);
      }
      free(col);
    }
  }
  return ok;
}

/* conv2d(heap, xOff, wOff, yOff, biasOff, act, alpha, <15 geometry numbers>): y = act(conv(x, W) + bias). */
static napi_value conv2d(napi_env env, napi_callback_info info) {
  Args a;
  if (!get_args(env, info, &a, 22)) return NULL;
  size_t len = 0;
  float *heap = heap_of(env, a.argv[0], &len);
  if (heap == NULL) {
    napi_throw_type_error(env, NULL, "phased_dmd_native.conv2d: heap must be a Float32Array");
    return NULL;
  }
  int64_t xOff = i64(env, a.argv[1]), wOff = i64(env, a.argv[2]), yOff = i64(env, a.argv[3]), biasOff = i64(env, a.argv[4]);
  int act = (int)i64(env, a.argv[5]);
  float alpha = (float)f64(env, a.argv[6]);
  Conv c;
  if (!read_conv(env, &a, 7, &c) || !conv_in_heap(env, &c, len, xOff, wOff, yOff) || (biasOff >= 0 && !in_heap(env, biasOff, c.Cout, len)))
    return NULL;
  const float *bias = biasOff >= 0 ? heap + biasOff : NULL;
  if (dnnl_conv(0, &c, heap + xOff, heap + wOff, bias, heap + yOff))
    bias = NULL; /* oneDNN added it */
  else if (!conv_forward(&c, heap + xOff, heap + wOff, heap + yOff)) {
    napi_throw_error(env, NULL, "phased_dmd_native.conv2d: out of memory");
    return NULL;
  }
  if (bias != NULL || act != ACT_LINEAR) bias_act(heap + yOff, c.B * c.Ho * c.Wo, c.Cout, bias, act, alpha);
  return NULL;
}

/* conv2dBackpropFilter(heap, xOff, dyOff, dwOff, <geometry>) */
static napi_value conv2d_backprop_filter(napi_env env, napi_callback_info info) {
  Args a;
  if (!get_args(env, info, &a, 19)) return NULL;
  size_t len = 0;
  float *heap = heap_of(env, a.argv[0], &len);
  if (heap == NULL) {
    napi_throw_type_error(env, NULL, "phased_dmd_native.conv2dBackpropFilter: heap must be a Float32Array");
    return NULL;
  }
  int64_t xOff = i64(env, a.argv[1]), dyOff = i64(env, a.argv[2]), dwOff = i64(env, a.argv[3]);
  Conv c;
  if (!read_conv(env, &a, 4, &c) || !conv_in_heap(env, &c, len, xOff, dwOff, dyOff)) return NULL;
  if (!dnnl_conv(2, &c, heap + xOff, heap + dyOff, NULL, heap + dwOff) && !conv_filter_grad(&c, heap + xOff, heap + dyOff, heap + dwOff)) napi_throw_error(env, NULL, "phased_dmd_native.conv2dBackpropFilter: out of memory");
  return NULL;
}

/* conv2dBackpropInput(heap, dyOff, wOff, dxOff, <geometry>) */
static napi_value conv2d_backprop_input(napi_env env, napi_callback_info info) {
  Args a;
  if (!get_args(env, info, &a, 19)) return NULL;
  size_t len = 0;
  float *heap = heap_of(env, a.argv[0], &len);
  if (heap == NULL) {
    napi_throw_type_error(env, NULL, "phased_dmd_native.conv2dBackpropInput: heap must be a Float32Array");
    return NULL;
  }
  int64_t dyOff = i64(env, a.argv[1]), wOff = i64(env, a.argv[2]), dxOff = i64(env, a.argv[3]);
  Conv c;
  if (!read_conv(env, &a, 4, &c) || !conv_in_heap(env, &c, len, dxOff, wOff, dyOff)) return NULL;
  if (!dnnl_conv(1, &c, heap + dyOff, heap + wOff, NULL, heap + dxOff) && !conv_input_grad(&c, heap + dyOff, heap + wOff, heap + dxOff)) napi_throw_error(env, NULL, "phased_dmd_native.conv2dBackpropInput: out of memory");
  return NULL;
}

/* ── element-wise kernels ───────────────────────────────────────────────────
 * Vectorisable loops; target_clones builds AVX-512 / AVX2 / baseline variants and picks
 * one at load time, so the addon also runs on a CPU other than the build machine's. */
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__)
#define VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define VECTOR_CLONES
#endif

/* Runs `body` over [lo, hi) chunks of [0, n): one chunk per OpenMP thread when n is large
 * enough to pay for waking them, else one chunk on the calling thread. */
#define PARALLEL_MIN (1 << 16)
#define PARALLEL_CHUNKS(n, body)                                                     \
  do {                                                                               \
    const int64_t n_ = (n);                                                          \
    if (n_ < PARALLEL_MIN) {                                                         \
      const int64_t lo = 0, hi = n_;                                                 \
      body;                                                                          \
    } else {                                                                         \
      _Pragma("omp parallel") {                                                      \
        const int64_t t_ = omp_get_thread_num(), T_ = omp_get_num_threads();         \
        const int64_t step_ = ((n_ + T_ - 1) / T_ + 15) / 16 * 16;                   \
        const int64_t lo = t_ * step_ < n_ ? t_ * step_ : n_;                        \
        const int64_t hi = lo + step_ < n_ ? lo + step_ : n_;                        \
        if (hi > lo) body;                                                           \
      }                                                                              \
    }                                                                                \
  } while (0)

/* e^x for x in [−88, 88] (clamped): Cody–Waite range reduction x = n·ln2 + r and a degree-6
 * polynomial for e^r (Cephes expf coefficients, ~1 ulp). Branch-free, so it vectorises. */
static inline float exp_approx(float x) {
  x = x < -88.0f ? -88.0f : (x > 88.0f ? 88.0f : x);
  const float n = __builtin_rintf(x * 1.44269504088896341f);
  float r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  union {
    int32_t i;
    float f;
  } scale = {.i = ((int32_t)n + 127) << 23};
  return p * scale.f;
}

/* y = x·σ(x) = x / (1 + e^−x). A NaN in x stays NaN (x is a factor). */
VECTOR_CLONES static void silu_loop(const float *restrict x, float *restrict y, int64_t n) {
  for (int64_t i = 0; i < n; i++) y[i] = x[i] / (1.0f + exp_approx(-x[i]));
}

/* dx = dy·σ(x)·(1 + x·(1 − σ(x))). */
VECTOR_CLONES static void silu_grad_loop(const float *restrict dy, const float *restrict x, float *restrict dx, int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    const float s = 1.0f / (1.0f + exp_approx(-x[i]));
    dx[i] = dy[i] * s * (1.0f + x[i] * (1.0f - s));
  }
}

/* y[a, c] = Σ_r x[a, r, c]: a sum over a contiguous run of axes. */
VECTOR_CLONES static void sum_middle(const float *restrict x, float *restrict y, int64_t A, int64_t R, int64_t C) {
  for (int64_t a = 0; a < A; a++) {
    float *restrict out = y + a * C;
    const float *base = x + a * R * C;
    if (C == 1) {
      float acc = 0;
      for (int64_t r = 0; r < R; r++) acc += base[r];
      out[0] = acc;
      continue;
    }
    memcpy(out, base, sizeof(float) * C);
    for (int64_t r = 1; r < R; r++) {
      const float *restrict row = base + r * C;
      for (int64_t c = 0; c < C; c++) out[c] += row[c];
    }
  }
}

/*
 * One Adam step, in tfjs's AdamOptimizer order of float32 operations:
 *   m' = β₁·m + (1 − β₁)·g,  v' = β₂·v + (1 − β₂)·g²,
 *   θ' = −lr·((m'/c₁) / (√(v'/c₂) + ε)) + θ,   c_i = 1 − β_i^(t+1).
 * Writes m', v', θ' to new buffers (tfjs tensors are immutable; buffers may be shared).
 */
typedef struct {
  float b1, omb1, b2, omb2, c1, c2, eps, neglr;
} AdamCoefficients;

VECTOR_CLONES static void adam_loop(const float *restrict theta, const float *restrict m, const float *restrict v, const float *restrict g,
                                    float *restrict theta2, float *restrict m2, float *restrict v2, int64_t n, AdamCoefficients k) {
  for (int64_t i = 0; i < n; i++) {
    const float mi = m[i] * k.b1 + g[i] * k.omb1;
    const float vi = v[i] * k.b2 + (g[i] * g[i]) * k.omb2;
    m2[i] = mi;
    v2[i] = vi;
    theta2[i] = ((mi / k.c1) / (sqrtf(vi / k.c2) + k.eps)) * k.neglr + theta[i];
  }
}

#define ADAM_MAX_VARIABLES 30

/* Elements [lo, hi) of the variables laid end to end (variable j's start at start[j]). */
static void adam_range(float *heap, int64_t count, int64_t off[][7], const int64_t *start, int64_t lo, int64_t hi, AdamCoefficients k) {
  for (int64_t j = 0; j < count; j++) {
    const int64_t from = lo > start[j] ? lo - start[j] : 0, to = (hi < start[j + 1] ? hi : start[j + 1]) - start[j];
    if (to > from)
      adam_loop(heap + off[j][0] + from, heap + off[j][1] + from, heap + off[j][2] + from, heap + off[j][3] + from, heap + off[j][4] + from,
                heap + off[j][5] + from, heap + off[j][6] + from, to - from, k);
  }
}

/*
 * adam(heap, b1, 1−b1, b2, 1−b2, c1, c2, eps, −lr, k, then per variable thetaOff, mOff, vOff,
 * gOff, theta2Off, m2Off, v2Off, n): the step for k variables in one call, their elements
 * laid end to end and shared out in equal runs over the threads (element-wise: the same
 * numbers for any split).
 */
static napi_value adam(napi_env env, napi_callback_info info) {
  Args a;
  if (!get_args(env, info, &a, 10)) return NULL;
  size_t len = 0;
  float *heap = heap_of(env, a.argv[0], &len);
  float f[8];
  for (int i = 0; i < 8; i++) f[i] = (float)f64(env, a.argv[1 + i]);
  const AdamCoefficients k = {f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7]};
  const int64_t count = i64(env, a.argv[9]);
  if (heap == NULL || count < 0 || count > ADAM_MAX_VARIABLES || a.argc < 10 + 8 * (size_t)count) {
    napi_throw_range_error(env, NULL, "phased_dmd_native.adam: bad arguments");
    return NULL;
  }
  int64_t off[ADAM_MAX_VARIABLES][7], n[ADAM_MAX_VARIABLES], start[ADAM_MAX_VARIABLES + 1];
  start[0] = 0;
  for (int64_t j = 0; j < count; j++) {
    for (int i = 0; i < 7; i++) off[j][i] = i64(env, a.argv[10 + 8 * j + i]);
    n[j] = i64(env, a.argv[10 + 8 * j + 7]);
    if (n[j] < 0) {
      napi_throw_range_error(env, NULL, "phased_dmd_native.adam: bad size");
      return NULL;
    }
    for (int i = 0; i < 7; i++)
      if (!in_heap(env, off[j][i], n[j], len)) return NULL;
    start[j + 1] = start[j] + n[j];
  }
  PARALLEL_CHUNKS(start[count], adam_range(heap, count, off, start, lo, hi, k));
  return NULL;
}

/*
 * sin and cos of float32 arguments, evaluated in double precision and rounded once: x is
 * reduced by π/2 with fdlibm's three-part constant (x − q·π/2 exact for |q| < 2^19), then
 * fdlibm's kernel polynomials on [−π/4, π/4] (|error| < 2^-58), so the float32 results
 * are the correctly rounded ones but in rare near-ties. Branch-free and without libm calls,
 * so the loops vectorise. Arguments that are not finite or have |x| ≥ SINCOS_LIMIT (beyond
 * the reduction's exact range) take libm's sinf/cosf instead.
 */
#define SINCOS_LIMIT 800000.0f

static inline void sincos_reduced(float xf, float *s, float *c) {
  const double x = xf;
  /* q = x·2/π rounded to the nearest integer (adding and removing 1.5·2^52 rounds it: |x·2/π| < 2^51) */
  const double q = (x * 6.36619772367581382433e-01 + 6755399441055744.0) - 6755399441055744.0;
  const double r = ((x - q * 1.57079632673412561417e+00) - q * 6.07710050630396597660e-11) - q * 2.02226624871116645580e-21;
  const double z = r * r;
  /* r·(1 + z·p) rather than r + r·z·p: keeps the sign of r = −0 */
  const double sr =
      r * (1.0 + z *
              (-1.66666666666666324348e-01 +
               z * (8.33333333332248946124e-03 +
                    z * (-1.98412698298579493134e-04 + z * (2.75573137070700676789e-06 + z * (-2.50507602534068634195e-08 + z * 1.58969099521155010221e-10))))));
  const double cr =
      1.0 - 0.5 * z +
      z * z *
          (4.16666666666666019037e-02 +
           z * (-1.38888888888741095749e-03 +
                z * (2.48015872894767294178e-05 + z * (-2.75573143513906633035e-07 + z * (2.08757232129817482790e-09 + z * -1.13596475577881948265e-11)))));
  /* quadrant n = q mod 4: sin x = (s, c, −s, −c)[n], and cos x = sin(x + π/2) the same at n + 1; chosen and
   * signed on the bits (selects and branches would stop the vectoriser) */
  const int64_t n = (int32_t)q & 3, m = (n + 1) & 3;
  uint64_t sb, cb, srb, crb;
  memcpy(&srb, &sr, 8);
  memcpy(&crb, &cr, 8);
  sb = ((crb & -(uint64_t)(n & 1)) | (srb & ~-(uint64_t)(n & 1))) ^ ((uint64_t)(n & 2) << 62);
  cb = ((crb & -(uint64_t)(m & 1)) | (srb & ~-(uint64_t)(m & 1))) ^ ((uint64_t)(m & 2) << 62);
  double sv, cv;
  memcpy(&sv, &sb, 8);
  memcpy(&cv, &cb, 8);
  *s = (float)sv;
  *c = (float)cv;
}

/* Whether any x_i is not finite or |x_i| ≥ SINCOS_LIMIT. */
VECTOR_CLONES static int beyond_sincos_limit(const float *restrict x, int64_t n) {
  int big = 0;
  for (int64_t i = 0; i < n; i++) big |= !(__builtin_fabsf(x[i]) < SINCOS_LIMIT);
  return big;
}

/* y = sin(x) (op 0) or cos(x) (op 1). */
VECTOR_CLONES static void sin_loop(const float *restrict x, float *restrict y, int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    float c;
    sincos_reduced(x[i], &y[i], &c);
  }
}
VECTOR_CLONES static void cos_loop(const float *restrict x, float *restrict y, int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    float s;
    sincos_reduced(x[i], &s, &y[i]);
  }
}
static void sin_or_cos(int op, const float *x, float *y, int64_t n) {
  if (beyond_sincos_limit(x, n))
    for (int64_t i = 0; i < n; i++) y[i] = op == 0 ? sinf(x[i]) : cosf(x[i]);
  else if (op == 0)
    sin_loop(x, y, n);
  else
    cos_loop(x, y, n);
}

/* unary(heap, op, xOff, yOff, n): op 0 = sin, 1 = cos. */
static napi_value unary(napi_env env, napi_callback_info info) {
  Args a;
  if (!get_args(env, info, &a, 5)) return NULL;
  size_t len = 0;
  float *heap = heap_of(env, a.argv[0], &len);
  const int64_t op = i64(env, a.argv[1]), xOff = i64(env, a.argv[2]), yOff = i64(env, a.argv[3]), n = i64(env, a.argv[4]);
  if (heap == NULL || !in_heap(env, xOff, n, len) || !in_heap(env, yOff, n, len)) return NULL;
  PARALLEL_CHUNKS(n, sin_or_cos((int)op, heap + xOff + lo, heap + yOff + lo, hi - lo));
  return NULL;
}

/* y [B, 2h] = [sin a, cos a] with a = t_b·ω_i in float32 (as tfjs's multiply). */
VECTOR_CLONES static void sinusoidal_rows(const float *restrict t, const float *restrict w, float *restrict y, int64_t B, int64_t h) {
  for (int64_t b = 0; b < B; b++)
    for (int64_t i = 0; i < h; i++) {
      const float a = t[b] * w[i];
      sincos_reduced(a, &y[b * 2 * h + i], &y[b * 2 * h + h + i]);
    }
}
static void sinusoidal_libm(const float *t, const float *w, float *y, int64_t B, int64_t h) {
  for (int64_t b = 0; b < B; b++)
    for (int64_t i = 0; i < h; i++) {
      const float a = t[b] * w[i];
      y[b * 2 * h + i] = sinf(a);
      y[b * 2 * h + h + i] = cosf(a);
    }
}

/* sinusoidal(heap, tOff, wOff, yOff, B, h): y [B, 2h] = [sin(t·ωᵀ), cos(t·ωᵀ)] for t [B], ω [h]. */
static napi_value sinusoidal(napi_env env, napi_callback_info info) {
  Args a;
  if (!get_args(env, info, &a, 6)) return NULL;
  size_t len = 0;
  float *heap = heap_of(env, a.argv[0], &len);
  const int64_t tOff = i64(env, a.argv[1]), wOff = i64(env, a.argv[2]), yOff = i64(env, a.argv[3]), B = i64(env, a.argv[4]), h = i64(env, a.argv[5]);
  if (heap == NULL || B < 0 || h < 0 || !in_heap(env, tOff, B, len) || !in_heap(env, wOff, h, len) || !in_heap(env, yOff, 2 * B * h, len)) return NULL;
  const float *t = heap + tOff, *w = heap + wOff;
  float *y = heap + yOff;
  /* |t·ω| ≤ max|t|·max|ω| (NaN or ±∞ anywhere: the product is not below the limit) */
  float tMax = 0, wMax = 0;
  for (int64_t b = 0; b < B; b++) tMax = !(__builtin_fabsf(t[b]) <= tMax) ? __builtin_fabsf(t[b]) : tMax;
  for (int64_t i = 0; i < h; i++) wMax = !(__builtin_fabsf(w[i]) <= wMax) ? __builtin_fabsf(w[i]) : wMax;
  if (!(tMax * wMax < SINCOS_LIMIT))
    sinusoidal_libm(t, w, y, B, h);
  else
    sinusoidal_rows(t, w, y, B, h);
  return NULL;
}

/* concat(heap, outOff, rows, width, k, src₀, inner₀, …): row r of the output is the
 * rows r of the k inputs side by side (4-byte elements: float32 and int32 alike).
 * split(heap, srcOff, rows, width, k, dst₀, inner₀, …) is its inverse: the same walk over
 * the k column blocks of the wide [rows, width] matrix, copying the other way. */
static napi_value column_blocks(napi_env env, napi_callback_info info, int to_wide, const char *bad) {
  Args a;
  if (!get_args(env, info, &a, 5)) return NULL;
  size_t len = 0;
  float *heap = heap_of(env, a.argv[0], &len);
  const int64_t wideOff = i64(env, a.argv[1]), rows = i64(env, a.argv[2]), width = i64(env, a.argv[3]), k = i64(env, a.argv[4]);
  if (heap == NULL || k < 1 || rows < 0 || width < 0 || (int64_t)a.argc < 5 + 2 * k) {
    napi_throw_range_error(env, NULL, bad);
    return NULL;
  }
  if (!in_heap(env, wideOff, rows * width, len)) return NULL;
  int64_t col = 0;
  for (int64_t j = 0; j < k; j++) {
    const int64_t narrowOff = i64(env, a.argv[5 + 2 * j]), inner = i64(env, a.argv[6 + 2 * j]);
    if (!in_heap(env, narrowOff, rows * inner, len) || col + inner > width) return NULL;
    float *wide = heap + wideOff + col, *narrow = heap + narrowOff;
#pragma omp parallel for schedule(static) if (rows * inner >= PARALLEL_MIN)
    for (int64_t r = 0; r < rows; r++) {
      if (to_wide)
        memcpy(wide + r * width, narrow + r * inner, sizeof(float) * inner);
      else
        memcpy(narrow + r * inner, wide + r * width, sizeof(float) * inner);
    }
    col += inner;
  }
  return NULL;
}

static napi_value concat(napi_env env, napi_callback_info info) { return column_blocks(env, info, 1, "phased_dmd_native.concat: bad arguments"); }

static napi_value split(napi_env env, napi_callback_info info) { return column_blocks(env, info, 0, "phased_dmd_native.split: bad arguments"); }

/* sumSquares(heap, k, off₀, n₀, …) → Σ_j Σ_i x_j[i]², accumulated in double. */
VECTOR_CLONES static double sum_squares_loop(const float *restrict x, int64_t n) {
  float acc[16] = {0};
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    for (int l = 0; l < 16; l++) acc[l] += x[i + l] * x[i + l];
  double total = 0;
  for (int l = 0; l < 16; l++) total += acc[l];
  for (; i < n; i++) total += (double)x[i] * x[i];
  return total;
}

static napi_value sum_squares(napi_env env, napi_callback_info info) {
  Args a;
  if (!get_args(env, info, &a, 2)) return NULL;
  size_t len = 0;
  float *heap = heap_of(env, a.argv[0], &len);
  const int64_t k = i64(env, a.argv[1]);
  if (heap == NULL || k < 0 || (int64_t)a.argc < 2 + 2 * k) {
    napi_throw_range_error(env, NULL, "phased_dmd_native.sumSquares: bad arguments");
    return NULL;
  }
  double total = 0;
  for (int64_t j = 0; j < k; j++) {
    const int64_t off = i64(env, a.argv[2 + 2 * j]), n = i64(env, a.argv[3 + 2 * j]);
    if (!in_heap(env, off, n, len)) return NULL;
    total += sum_squares_loop(heap + off, n);
  }
  napi_value out;
  CHECK(napi_create_double(env, total, &out));
  return out;
}

/* y[a, r, c] = x[a, r, c] + b[a, c]: b broadcast over a middle block of axes (R = 1 is
 * same-shape, A = 1 a trailing bias). */
VECTOR_CLONES static void add_bcast_loop(const float *restrict x, const float *restrict b, float *restrict y, int64_t r0, int64_t r1, int64_t R,
                                         int64_t C) {
  /* rows r0..r1 of the flattened [A·R, C] view */
  for (int64_t row = r0; row < r1; row++) {
    const float *xr = x + row * C, *br = b + (row / R) * C;
    float *yr = y + row * C;
    for (int64_t c = 0; c < C; c++) yr[c] = xr[c] + br[c];
  }
}

/* addBroadcast(heap, xOff, bOff, yOff, A, R, C) */
static napi_value add_broadcast(napi_env env, napi_callback_info info) {
  Args a;
  if (!get_args(env, info, &a, 7)) return NULL;
  size_t len = 0;
  float *heap = heap_of(env, a.argv[0], &len);
  const int64_t xOff = i64(env, a.argv[1]), bOff = i64(env, a.argv[2]), yOff = i64(env, a.argv[3]);
  const int64_t A = i64(env, a.argv[4]), R = i64(env, a.argv[5]), C = i64(env, a.argv[6]);
  if (heap == NULL || A < 1 || R < 1 || C < 1 || !in_heap(env, xOff, A * R * C, len) || !in_heap(env, bOff, A * C, len) || !in_heap(env, yOff, A * R * C, len))
    return NULL;
  const float *x = heap + xOff, *b = heap + bOff;
  float *y = heap + yOff;
  if (R == 1) /* same shape: one flat loop */
    PARALLEL_CHUNKS(A * C, add_bcast_loop(x + lo, b + lo, y + lo, 0, 1, 1, hi - lo));
  else
    PARALLEL_CHUNKS(A * R, add_bcast_loop(x, b, y, lo, hi, R, C));
  return NULL;
}

/* silu(heap, xOff, yOff, n) */
static napi_value silu(napi_env env, napi_callback_info info) {
  Args a;
  if (!get_args(env, info, &a, 4)) return NULL;
  size_t len = 0;
  float *heap = heap_of(env, a.argv[0], &len);
  int64_t xOff = i64(env, a.argv[1]), yOff = i64(env, a.argv[2]), n = i64(env, a.argv[3]);
  if (heap == NULL || !in_heap(env, xOff, n, len) || !in_heap(env, yOff, n, len)) return NULL;
  PARALLEL_CHUNKS(n, silu_loop(heap + xOff + lo, heap + yOff + lo, hi - lo));
  return NULL;
}

/* siluGrad(heap, dyOff, xOff, dxOff, n) */
static napi_value silu_grad(napi_env env, napi_callback_info info) {
  Args a;
  if (!get_args(env, info, &a, 5)) return NULL;
  size_t len = 0;
  float *heap = heap_of(env, a.argv[0], &len);
  int64_t dyOff = i64(env, a.argv[1]), xOff = i64(env, a.argv[2]), dxOff = i64(env, a.argv[3]), n = i64(env, a.argv[4]);
  if (heap == NULL || !in_heap(env, dyOff, n, len) || !in_heap(env, xOff, n, len) || !in_heap(env, dxOff, n, len)) return NULL;
  PARALLEL_CHUNKS(n, silu_grad_loop(heap + dyOff + lo, heap + xOff + lo, heap + dxOff + lo, hi - lo));
  return NULL;
}

/* sumMiddle(heap, xOff, yOff, A, R, C) */
static napi_value sum_middle_js(napi_env env, napi_callback_info info) {
  Args a;
  if (!get_args(env, info, &a, 6)) return NULL;
  size_t len = 0;
  float *heap = heap_of(env, a.argv[0], &len);
  int64_t xOff = i64(env, a.argv[1]), yOff = i64(env, a.argv[2]), A = i64(env, a.argv[3]), R = i64(env, a.argv[4]), C = i64(env, a.argv[5]);
  if (heap == NULL || A < 1 || R < 1 || C < 1 || !in_heap(env, xOff, A * R * C, len) || !in_heap(env, yOff, A * C, len)) return NULL;
  sum_middle(heap + xOff, heap + yOff, A, R, C);
  return NULL;
}

/* mse(heap, aOff, bOff, n): mean((a − b)²) over n elements, summed in double. */
static napi_value mse(napi_env env, napi_callback_info info) {
  Args a;
  if (!get_args(env, info, &a, 4)) return NULL;
  size_t len = 0;
  float *heap = heap_of(env, a.argv[0], &len);
  const int64_t aOff = i64(env, a.argv[1]), bOff = i64(env, a.argv[2]), n = i64(env, a.argv[3]);
  if (heap == NULL || n < 1 || !in_heap(env, aOff, n, len) || !in_heap(env, bOff, n, len)) return NULL;
  const float *x = heap + aOff, *y = heap + bOff;
  double sum = 0;
  for (int64_t i = 0; i < n; i++) {
    const double d = (double)(x[i] - y[i]);
    sum += d * d;
  }
  napi_value out;
  CHECK(napi_create_double(env, sum / (double)n, &out));
  return out;
}

/* mseGrad(heap, aOff, bOff, daOff, n, g): da = (a − b)·g, for g = 2·dy/n as tfjs's gradient rounds it. */
VECTOR_CLONES static void scaled_difference(const float *restrict x, const float *restrict y, float *restrict d, int64_t n, float g) {
  for (int64_t i = 0; i < n; i++) d[i] = (x[i] - y[i]) * g;
}
static napi_value mse_grad(napi_env env, napi_callback_info info) {
  Args a;
  if (!get_args(env, info, &a, 6)) return NULL;
  size_t len = 0;
  float *heap = heap_of(env, a.argv[0], &len);
  const int64_t aOff = i64(env, a.argv[1]), bOff = i64(env, a.argv[2]), dOff = i64(env, a.argv[3]), n = i64(env, a.argv[4]);
  const float g = (float)f64(env, a.argv[5]);
  if (heap == NULL || n < 0 || !in_heap(env, aOff, n, len) || !in_heap(env, bOff, n, len) || !in_heap(env, dOff, n, len)) return NULL;
  PARALLEL_CHUNKS(n, scaled_difference(heap + aOff + lo, heap + bOff + lo, heap + dOff + lo, hi - lo, g));
  return NULL;
}

/* ── dense layers by row tiles ──────────────────────────────────────────────
 * y = act(x·W + b) over M rows runs as tiles of TILE_ROWS rows, tiles shared among the
 * OpenMP threads: each tile's product (a single-threaded sgemm, the bias as C's initial
 * rows) and its activation run while the tile is in that core's cache. Against one
 * threaded sgemm over all rows and an activation pass after it, the activation does not
 * go through memory again and the threads meet once per layer instead of inside the BLAS.
 * A tile computes each element exactly as the whole product does (same K order), and the
 * tiling depends only on M: the same bits every run. */
#define TILE_ROWS 128
#define DENSE_ACT_LINEAR 0
#define DENSE_ACT_SILU 1

/* y = x·σ(x) in place (silu_loop's arithmetic, so the same bits). */
VECTOR_CLONES static void silu_inplace(float *restrict x, int64_t n) {
  for (int64_t i = 0; i < n; i++) x[i] = x[i] / (1.0f + exp_approx(-x[i]));
}

/* One tile: z = x·W + b (z NULL: straight into y), y = act(z). */
static void tile_layer(const float *x, int64_t rows, int64_t K, int64_t N, const float *W, const float *bias, float *z, float *y, int act) {
  float *C = z != NULL ? z : y;
  if (bias != NULL)
    for (int64_t r = 0; r < rows; r++) memcpy(C + r * N, bias, sizeof(float) * N);
  else if (K == 0)
    memset(C, 0, sizeof(float) * rows * N);
  if (K > 0)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)rows, (int)N, (int)K, 1.0f, x, (int)K, W, (int)N, bias != NULL ? 1.0f : 0.0f, C, (int)N);
  if (act == DENSE_ACT_SILU) {
    if (z != NULL)
      silu_loop(z, y, rows * N);
    else
      silu_inplace(y, rows * N);
  }
}

/* Whether a layer of these sizes is worth waking the other threads for. */
static int tiles_in_parallel(int64_t M, int64_t K, int64_t N) { return omp_get_max_threads() > 1 && M >= 2 * TILE_ROWS && M * K * N >= (1 << 20); }

static void dense_rows(int64_t M, int64_t K, int64_t N, const float *x, const float *W, const float *bias, float *z, float *y, int act) {
  const int64_t tiles = (M + TILE_ROWS - 1) / TILE_ROWS;
#pragma omp parallel for schedule(static) if (tiles_in_parallel(M, K, N))
  for (int64_t t = 0; t < tiles; t++) {
    const int64_t r0 = t * TILE_ROWS, rows = M - r0 < TILE_ROWS ? M - r0 : TILE_ROWS;
    tile_layer(x + r0 * K, rows, K, N, W, bias, z != NULL ? z + r0 * N : NULL, y + r0 * N, act);
  }
}

/* denseRows(heap, M, K, N, xOff, wOff, bOff, zOff, yOff, act): z = x·W + b, y = act(z);
 * zOff < 0 keeps no z (no gradient will read it), bOff < 0 no bias. */
static napi_value dense_rows_js(napi_env env, napi_callback_info info) {
  Args a;
  if (!get_args(env, info, &a, 10)) return NULL;
  size_t len = 0;
  float *heap = heap_of(env, a.argv[0], &len);
  const int64_t M = i64(env, a.argv[1]), K = i64(env, a.argv[2]), N = i64(env, a.argv[3]);
  const int64_t xOff = i64(env, a.argv[4]), wOff = i64(env, a.argv[5]), bOff = i64(env, a.argv[6]), zOff = i64(env, a.argv[7]),
                yOff = i64(env, a.argv[8]);
  const int act = (int)i64(env, a.argv[9]);
  if (heap == NULL || M < 1 || K < 0 || N < 1 || (act != DENSE_ACT_LINEAR && act != DENSE_ACT_SILU)) {
    napi_throw_range_error(env, NULL, "phased_dmd_native.denseRows: bad arguments");
    return NULL;
  }
  if (!in_heap(env, xOff, M * K, len) || !in_heap(env, wOff, K * N, len) || (bOff >= 0 && !in_heap(env, bOff, N, len)) ||
      (zOff >= 0 && !in_heap(env, zOff, M * N, len)) || !in_heap(env, yOff, M * N, len))
    return NULL;
  dense_rows(M, K, N, heap + xOff, heap + wOff, bOff >= 0 ? heap + bOff : NULL, zOff >= 0 ? heap + zOff : NULL, heap + yOff, act);
  return NULL;
}

/*
 * The dense layer's gradient: dz = dy·act'(z), dx = dz·Wᵀ by row tiles (dz's tile is still
 * in cache for its product), then dW = xᵀ·dz and db = Σ_rows dz by column blocks, one per
 * thread: every element of dW and db is summed over the rows by one product, so the same
 * bits on every run. (Not across thread counts: the block width follows the thread count,
 * and OpenBLAS's kernels for a block's last columns may round dW differently.) The chain's
 * gradient (mlpGrad) runs the same tile and block functions, so the same arithmetic.
 */

/* One row tile: dz = dy·act'(z) (z NULL: linear, dz is dy), dx = dz·Wᵀ. */
static void tile_grad(int64_t rows, int64_t K, int64_t N, const float *dy, const float *z, float *dz, const float *W, float *dx) {
  if (z != NULL) silu_grad_loop(dy, z, dz, rows * N);
  if (K > 0)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, (int)K, (int)N, 1.0f, z != NULL ? dz : dy, (int)N, W, (int)N, 0.0f, dx, (int)K);
}

/* Width of dW's column blocks for T threads: a multiple of 16, at least 32 (narrower products waste the kernel). */
static int64_t grad_block_width(int64_t N, int T) {
  const int64_t step = ((N + T - 1) / T + 15) / 16 * 16;
  return step < 32 ? N : step;
}

/* Columns [c0, c0 + nc) of dW = xᵀ·dz [K, N] and db = Σ_rows dz, each summed over the M rows in order. */
static void weight_grad_block(int64_t M, int64_t K, int64_t N, int64_t c0, int64_t nc, const float *x, const float *dz, float *dW, float *db) {
  if (K > 0) cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)K, (int)nc, (int)M, 1.0f, x, (int)K, dz + c0, (int)N, 0.0f, dW + c0, (int)N);
  memcpy(db + c0, dz + c0, sizeof(float) * nc);
  for (int64_t r = 1; r < M; r++) {
    const float *row = dz + r * N + c0;
    for (int64_t c = 0; c < nc; c++) db[c0 + c] += row[c];
  }
}

/* dzBuf: M·N floats of scratch (SiLU only). */
static void dense_grad_rows(int64_t M, int64_t K, int64_t N, const float *dy, const float *x, const float *W, const float *z, float *dzBuf, float *dx,
                            float *dW, float *db) {
  const float *dz = z != NULL ? dzBuf : dy;
  const int64_t tiles = (M + TILE_ROWS - 1) / TILE_ROWS;
  const int par = tiles_in_parallel(M, K, N);
  const int64_t step = grad_block_width(N, par ? omp_get_max_threads() : 1), blocks = (N + step - 1) / step;
#pragma omp parallel if (par)
  {
#pragma omp for schedule(static)
    for (int64_t t = 0; t < tiles; t++) {
      const int64_t r0 = t * TILE_ROWS, rows = M - r0 < TILE_ROWS ? M - r0 : TILE_ROWS;
      tile_grad(rows, K, N, dy + r0 * N, z != NULL ? z + r0 * N : NULL, dzBuf != NULL ? dzBuf + r0 * N : NULL, W, dx + r0 * K);
    }
    /* (the implicit barrier of the loop above: dz is complete) */
#pragma omp for schedule(static)
    for (int64_t blk = 0; blk < blocks; blk++) {
      const int64_t c0 = blk * step;
      weight_grad_block(M, K, N, c0, N - c0 < step ? N - c0 : step, x, dz, dW, db);
    }
  }
}

/* denseGradRows(heap, M, K, N, dyOff, xOff, wOff, zOff, dzOff, dxOff, dwOff, dbOff); zOff < 0: linear. */
static napi_value dense_grad_rows_js(napi_env env, napi_callback_info info) {
  Args a;
  if (!get_args(env, info, &a, 12)) return NULL;
  size_t len = 0;
  float *heap = heap_of(env, a.argv[0], &len);
  const int64_t M = i64(env, a.argv[1]), K = i64(env, a.argv[2]), N = i64(env, a.argv[3]);
  int64_t off[8];
  for (int i = 0; i < 8; i++) off[i] = i64(env, a.argv[4 + i]);
  const int silu = off[3] >= 0;
  if (heap == NULL || M < 1 || K < 0 || N < 1) {
    napi_throw_range_error(env, NULL, "phased_dmd_native.denseGradRows: bad arguments");
    return NULL;
  }
  if (!in_heap(env, off[0], M * N, len) || !in_heap(env, off[1], M * K, len) || !in_heap(env, off[2], K * N, len) ||
      (silu && (!in_heap(env, off[3], M * N, len) || !in_heap(env, off[4], M * N, len))) || !in_heap(env, off[5], M * K, len) ||
      !in_heap(env, off[6], K * N, len) || !in_heap(env, off[7], N, len))
    return NULL;
  dense_grad_rows(M, K, N, heap + off[0], heap + off[1], heap + off[2], silu ? heap + off[3] : NULL, silu ? heap + off[4] : NULL, heap + off[5],
                  heap + off[6], heap + off[7]);
  return NULL;
}

/* ── dense chains ───────────────────────────────────────────────────────────
 * h₀ = x, h_{i+1} = act_i(h_i·W_i + b_i) for i < L, y = h_L: a row tile goes through every
 * layer while it is in cache, each layer the same tile_layer call the layered path makes,
 * so the numbers are the layered path's. mlp keeps nothing but y; mlpTrain also keeps what
 * the gradient reads, in one cache buffer laid out layer by layer as
 *   [z_i (M × N_i, SiLU layers only)] [h_{i+1} (M × N_i, hidden layers only)];
 * mlpGrad walks the chain back: row tiles through every layer (dz_i, and dx), then dW_i and
 * db_i by column blocks, with dense_grad_rows' tile and block functions. Its only difference
 * from the layered path: a layer too small to share out runs its products inside the threads'
 * region (one-threaded BLAS) rather than outside it, where OpenBLAS may split them. */
#define MLP_MAX_LAYERS 32

typedef struct {
  int64_t K, N;
  const float *W, *b;
  int act;
  float *z, *h;      /* in the cache: z_i (SiLU layers), h_{i+1} (hidden layers); NULL where not kept */
  float *dz, *dW, *db; /* mlpGrad only: dz_i (scratch; NULL for a linear last layer, whose dz is dy), the gradients */
} Layer;

typedef struct {
  int64_t M, L;
  Layer layer[MLP_MAX_LAYERS];
  int64_t widest, macs;
} Chain;

/* Floats of mlpTrain's cache (per layer: z_i for SiLU, h_{i+1} for hidden layers). */
static int64_t cache_floats(const Chain *c) {
  int64_t n = 0;
  for (int64_t i = 0; i < c->L; i++) n += c->M * c->layer[i].N * ((c->layer[i].act == DENSE_ACT_SILU) + (i < c->L - 1));
  return n;
}

/* Floats of mlpGrad's dz scratch (every layer but a linear last one). */
static int64_t dz_floats(const Chain *c) {
  int64_t n = 0;
  for (int64_t i = 0; i < c->L; i++) n += i == c->L - 1 && c->layer[i].act == DENSE_ACT_LINEAR ? 0 : c->M * c->layer[i].N;
  return n;
}

/* Points the layers' z and h into a cache of cache_floats(c), or their dz into scratch of dz_floats(c). */
static void place_cache(Chain *c, float *cache) {
  for (int64_t i = 0; i < c->L; i++) {
    Layer *l = &c->layer[i];
    l->z = l->act == DENSE_ACT_SILU ? cache : NULL;
    cache += l->z != NULL ? c->M * l->N : 0;
    l->h = i < c->L - 1 ? cache : NULL;
    cache += l->h != NULL ? c->M * l->N : 0;
  }
}
static void place_dz(Chain *c, float *scratch) {
  for (int64_t i = 0; i < c->L; i++) {
    Layer *l = &c->layer[i];
    l->dz = i == c->L - 1 && l->act == DENSE_ACT_LINEAR ? NULL : scratch;
    scratch += l->dz != NULL ? c->M * l->N : 0;
  }
}

/*
 * Reads M, L, K₀ and L layer tuples from argv[first…]: (N_i, wOff_i, bOff_i, act_i), followed
 * in each tuple by (dwOff_i, dbOff_i) when `grads`; checks every range. 0 after throwing.
 */
static int read_chain(napi_env env, Args *a, size_t first, float *heap, size_t len, int grads, Chain *c) {
  const size_t tuple = grads ? 6 : 4;
  c->M = i64(env, a->argv[first]);
  c->L = i64(env, a->argv[first + 1]);
  const int64_t K0 = i64(env, a->argv[first + 2]);
  if (c->M < 1 || c->L < 1 || c->L > MLP_MAX_LAYERS || K0 < 0 || a->argc < first + 3 + tuple * c->L) {
    napi_throw_range_error(env, NULL, "phased_dmd_native: bad dense chain");
    return 0;
  }
  c->widest = 1;
  c->macs = 0;
  for (int64_t i = 0; i < c->L; i++) {
    napi_value *t = a->argv + first + 3 + tuple * i;
    Layer *l = &c->layer[i];
    l->K = i == 0 ? K0 : c->layer[i - 1].N;
    l->N = i64(env, t[0]);
    const int64_t wOff = i64(env, t[1]), bOff = i64(env, t[2]);
    l->act = (int)i64(env, t[3]);
    if (l->N < 1 || (l->act != DENSE_ACT_LINEAR && l->act != DENSE_ACT_SILU)) {
      napi_throw_range_error(env, NULL, "phased_dmd_native: bad dense chain layer");
      return 0;
    }
    if (!in_heap(env, wOff, l->K * l->N, len) || (bOff >= 0 && !in_heap(env, bOff, l->N, len))) return 0;
    l->W = heap + wOff;
    l->b = bOff >= 0 ? heap + bOff : NULL;
    l->z = l->h = l->dz = l->dW = l->db = NULL;
    if (grads) {
      const int64_t dwOff = i64(env, t[4]), dbOff = i64(env, t[5]);
      if (!in_heap(env, dwOff, l->K * l->N, len) || !in_heap(env, dbOff, l->N, len)) return 0;
      l->dW = heap + dwOff;
      l->db = heap + dbOff;
    }
    if (l->N > c->widest) c->widest = l->N;
    c->macs += l->K * l->N;
  }
  return 1;
}

/* The chain's forward over all rows; without a cache, each thread's tiles pass through two scratch tiles of `buf`. */
static int chain_forward(const Chain *c, const float *x, float *y, int cached) {
  const int64_t tiles = (c->M + TILE_ROWS - 1) / TILE_ROWS, L = c->L;
  int ok = 1;
#pragma omp parallel if (tiles_in_parallel(c->M, 1, c->macs))
  {
    float *buf = cached ? NULL : malloc(sizeof(float) * 2 * TILE_ROWS * c->widest);
    if (!cached && buf == NULL) {
#pragma omp atomic write
      ok = 0;
    }
#pragma omp for schedule(static)
    for (int64_t t = 0; t < tiles; t++) {
      if (!cached && buf == NULL) continue;
      const int64_t r0 = t * TILE_ROWS, rows = c->M - r0 < TILE_ROWS ? c->M - r0 : TILE_ROWS;
      const float *in = x + r0 * c->layer[0].K;
      for (int64_t i = 0; i < L; i++) {
        const Layer *l = &c->layer[i];
        float *out = i == L - 1 ? y + r0 * l->N : cached ? l->h + r0 * l->N : buf + (i % 2) * TILE_ROWS * c->widest;
        tile_layer(in, rows, l->K, l->N, l->W, l->b, cached && l->z != NULL ? l->z + r0 * l->N : NULL, out, l->act);
        in = out;
      }
    }
    free(buf);
  }
  return ok;
}

/*
 * The chain's gradient from dy = ∂/∂y: per row tile, from the last layer down, dz_i (into
 * the scratch) and the gradient of the layer's input, dz_i·W_iᵀ (into the next dz's scratch
 * for a linear layer below, else a per-thread tile, or dx for layer 0); then, all rows
 * done, dW_i and db_i by column blocks.
 */
static int chain_backward(const Chain *c, const float *dy, const float *x, float *dx) {
  const int64_t tiles = (c->M + TILE_ROWS - 1) / TILE_ROWS, L = c->L, M = c->M;
  const int par = tiles_in_parallel(M, 1, c->macs);
  int ok = 1;
#pragma omp parallel if (par)
  {
    float *buf = malloc(sizeof(float) * TILE_ROWS * c->widest);
    if (buf == NULL) {
#pragma omp atomic write
      ok = 0;
    }
#pragma omp for schedule(static)
    for (int64_t t = 0; t < tiles; t++) {
      if (buf == NULL) continue;
      const int64_t r0 = t * TILE_ROWS, rows = M - r0 < TILE_ROWS ? M - r0 : TILE_ROWS;
      const float *g = dy + r0 * c->layer[L - 1].N; /* ∂/∂ (layer i's output), this tile */
      for (int64_t i = L - 1; i >= 0; i--) {
        const Layer *l = &c->layer[i];
        const Layer *below = i > 0 ? &c->layer[i - 1] : NULL;
        float *gin = below == NULL ? dx + r0 * l->K : below->act == DENSE_ACT_LINEAR ? below->dz + r0 * l->K : buf;
        tile_grad(rows, l->K, l->N, g, l->z != NULL ? l->z + r0 * l->N : NULL, l->z != NULL ? l->dz + r0 * l->N : NULL, l->W, gin);
        g = gin;
      }
    }
    free(buf);
    /* (the implicit barrier of the loop above: every dz is complete) */
    for (int64_t i = 0; i < L; i++) {
      const Layer *l = &c->layer[i];
      const int64_t step = grad_block_width(l->N, par ? omp_get_num_threads() : 1), blocks = (l->N + step - 1) / step;
#pragma omp for schedule(static) nowait
      for (int64_t blk = 0; blk < blocks; blk++) {
        const int64_t c0 = blk * step;
        weight_grad_block(M, l->K, l->N, c0, l->N - c0 < step ? l->N - c0 : step, i == 0 ? x : c->layer[i - 1].h, l->dz != NULL ? l->dz : dy, l->dW,
                          l->db);
      }
    }
  }
  return ok;
}

/* mlp(heap, xOff, yOff, M, L, K₀, (N_i, wOff_i, bOff_i, act_i) per layer): y only. */
static napi_value mlp_js(napi_env env, napi_callback_info info) {
  Args a;
  Chain c;
  size_t len = 0;
  if (!get_args(env, info, &a, 6)) return NULL;
  float *heap = heap_of(env, a.argv[0], &len);
  if (heap == NULL || !read_chain(env, &a, 3, heap, len, 0, &c)) return NULL;
  const int64_t xOff = i64(env, a.argv[1]), yOff = i64(env, a.argv[2]);
  if (!in_heap(env, xOff, c.M * c.layer[0].K, len) || !in_heap(env, yOff, c.M * c.layer[c.L - 1].N, len)) return NULL;
  if (!chain_forward(&c, heap + xOff, heap + yOff, 0)) napi_throw_error(env, NULL, "phased_dmd_native.mlp: out of memory");
  return NULL;
}

/* mlpTrain(heap, xOff, yOff, cacheOff, M, L, K₀, (N_i, wOff_i, bOff_i, act_i) per layer): y and the cache. */
static napi_value mlp_train_js(napi_env env, napi_callback_info info) {
  Args a;
  Chain c;
  size_t len = 0;
  if (!get_args(env, info, &a, 7)) return NULL;
  float *heap = heap_of(env, a.argv[0], &len);
  if (heap == NULL || !read_chain(env, &a, 4, heap, len, 0, &c)) return NULL;
  const int64_t xOff = i64(env, a.argv[1]), yOff = i64(env, a.argv[2]), cacheOff = i64(env, a.argv[3]);
  if (!in_heap(env, xOff, c.M * c.layer[0].K, len) || !in_heap(env, yOff, c.M * c.layer[c.L - 1].N, len) ||
      !in_heap(env, cacheOff, cache_floats(&c), len))
    return NULL;
  place_cache(&c, heap + cacheOff);
  chain_forward(&c, heap + xOff, heap + yOff, 1);
  return NULL;
}

/*
 * mlpGrad(heap, dyOff, xOff, cacheOff, dzOff, dxOff, M, L, K₀, (N_i, wOff_i, bOff_i, act_i,
 * dwOff_i, dbOff_i) per layer): dx, dW_i, db_i from dy and mlpTrain's cache; dzOff: scratch.
 */
static napi_value mlp_grad_js(napi_env env, napi_callback_info info) {
  Args a;
  Chain c;
  size_t len = 0;
  if (!get_args(env, info, &a, 9)) return NULL;
  float *heap = heap_of(env, a.argv[0], &len);
  if (heap == NULL || !read_chain(env, &a, 6, heap, len, 1, &c)) return NULL;
  const int64_t dyOff = i64(env, a.argv[1]), xOff = i64(env, a.argv[2]), cacheOff = i64(env, a.argv[3]), dzOff = i64(env, a.argv[4]),
                dxOff = i64(env, a.argv[5]);
  if (!in_heap(env, dyOff, c.M * c.layer[c.L - 1].N, len) || !in_heap(env, xOff, c.M * c.layer[0].K, len) ||
      !in_heap(env, cacheOff, cache_floats(&c), len) || !in_heap(env, dzOff, dz_floats(&c), len) || !in_heap(env, dxOff, c.M * c.layer[0].K, len))
    return NULL;
  place_cache(&c, heap + cacheOff);
  place_dz(&c, heap + dzOff);
  if (!chain_backward(&c, heap + dyOff, heap + xOff, heap + dxOff)) napi_throw_error(env, NULL, "phased_dmd_native.mlpGrad: out of memory");
  return NULL;
}

/* Threads OpenBLAS uses (0 = leave as configured). Returns the count in effect. */
extern void openblas_set_num_threads(int);
extern int openblas_get_num_threads(void);
extern char *openblas_get_config(void);

static napi_value threads(napi_env env, napi_callback_info info) {
  Args a;
  a.argc = MAX_ARGS;
  CHECK(napi_get_cb_info(env, info, &a.argc, a.argv, NULL, NULL));
  if (a.argc > 0) {
    int64_t n = i64(env, a.argv[0]);
    if (n > 0) openblas_set_num_threads((int)n);
  }
  napi_value out;
  CHECK(napi_create_int32(env, openblas_get_num_threads(), &out));
  return out;
}

static napi_value config(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out;
  const char *s = openblas_get_config();
  CHECK(napi_create_string_utf8(env, s ? s : "", NAPI_AUTO_LENGTH, &out));
  return out;
}

/* The oneDNN implementation of the last convolution primitive built ("" without oneDNN). */
static napi_value conv_impl(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out;
  CHECK(napi_create_string_utf8(env, dnnl_conv_info(), NAPI_AUTO_LENGTH, &out));
  return out;
}

static napi_value has_dnnl(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out;
#ifdef PHASED_DMD_DNNL
  CHECK(napi_get_boolean(env, true, &out));
#else
  CHECK(napi_get_boolean(env, false, &out));
#endif
  return out;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"gemm", NULL, gemm, NULL, NULL, NULL, napi_default, NULL},
      {"conv2d", NULL, conv2d, NULL, NULL, NULL, napi_default, NULL},
      {"conv2dBackpropFilter", NULL, conv2d_backprop_filter, NULL, NULL, NULL, napi_default, NULL},
      {"conv2dBackpropInput", NULL, conv2d_backprop_input, NULL, NULL, NULL, napi_default, NULL},
      {"silu", NULL, silu, NULL, NULL, NULL, napi_default, NULL},
      {"adam", NULL, adam, NULL, NULL, NULL, napi_default, NULL},
      {"unary", NULL, unary, NULL, NULL, NULL, napi_default, NULL},
      {"sinusoidal", NULL, sinusoidal, NULL, NULL, NULL, napi_default, NULL},
      {"concat", NULL, concat, NULL, NULL, NULL, napi_default, NULL},
      {"split", NULL, split, NULL, NULL, NULL, napi_default, NULL},
      {"addBroadcast", NULL, add_broadcast, NULL, NULL, NULL, napi_default, NULL},
      {"sumSquares", NULL, sum_squares, NULL, NULL, NULL, napi_default, NULL},
      {"mse", NULL, mse, NULL, NULL, NULL, napi_default, NULL},
      {"mseGrad", NULL, mse_grad, NULL, NULL, NULL, napi_default, NULL},
      {"siluGrad", NULL, silu_grad, NULL, NULL, NULL, napi_default, NULL},
      {"sumMiddle", NULL, sum_middle_js, NULL, NULL, NULL, napi_default, NULL},
      {"threads", NULL, threads, NULL, NULL, NULL, napi_default, NULL},
      {"config", NULL, config, NULL, NULL, NULL, napi_default, NULL},
      {"convImpl", NULL, conv_impl, NULL, NULL, NULL, napi_default, NULL},
      {"hasDnnl", NULL, has_dnnl, NULL, NULL, NULL, napi_default, NULL},
      {"denseRows", NULL, dense_rows_js, NULL, NULL, NULL, napi_default, NULL},
      {"denseGradRows", NULL, dense_grad_rows_js, NULL, NULL, NULL, napi_default, NULL},
      {"mlp", NULL, mlp_js, NULL, NULL, NULL, napi_default, NULL},
      {"mlpTrain", NULL, mlp_train_js, NULL, NULL, NULL, napi_default, NULL},
      {"mlpGrad", NULL, mlp_grad_js, NULL, NULL, NULL, napi_default, NULL},
  };
  if (napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
