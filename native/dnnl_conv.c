/*
 * Convolutions through oneDNN (Debian: libdnnl-dev; the library PyTorch's CPU convolutions
 * use), built in only when native/build.js finds its headers (PHASED_DMD_DNNL defined).
 * NHWC activations and tfjs's [kh, kw, cin, cout] filters are oneDNN's nhwc and hwio
 * formats, so tensors are used in place. Primitives are created once per geometry and
 * cached. PHASED_DMD_DNNL=0 in the environment turns this path off at run time.
 */
#include "conv.h"

#ifndef PHASED_DMD_DNNL

int dnnl_conv(int kind, const Conv *c, const float *a, const float *b, const float *bias, float *out) {
  (void)kind, (void)c, (void)a, (void)b, (void)bias, (void)out;
  return 0;
}
const char *dnnl_conv_info(void) { return ""; }

#else

#include <oneapi/dnnl/dnnl.h>
#include <stdlib.h>
#include <string.h>

static dnnl_engine_t engine = NULL;
static dnnl_stream_t stream = NULL;
static int state = 0; /* 0 untried, 1 ready, −1 unavailable */
static char info[256] = "";

typedef struct {
  int kind, hasBias;
  Conv c;
  dnnl_primitive_t prim;
  dnnl_memory_t mem[4]; /* kind 0: src, weights, dst, bias; 1: diff_dst, weights, diff_src; 2: src, diff_dst, diff_weights */
  /* Weights in the layout the primitive prefers (blocked): a reorder from / to tfjs's hwio. */
  dnnl_primitive_t reorder;
  dnnl_memory_t user_w, prim_w;
  void *wbuf;
} Entry;

#define CACHE 64
static Entry cache[CACHE];
static int cached = 0;

static int ready(void) {
  if (state != 0) return state == 1;
  const char *env = getenv("PHASED_DMD_DNNL");
  if (env != NULL && strcmp(env, "0") == 0) return (state = -1), 0;
  if (dnnl_engine_create(&engine, dnnl_cpu, 0) != dnnl_success || dnnl_stream_create(&stream, engine, dnnl_stream_default_flags) != dnnl_success)
    return (state = -1), 0;
  state = 1;
  return 1;
}

static void md4(dnnl_memory_desc_t *md, int64_t n, int64_t ch, int64_t h, int64_t w, dnnl_format_tag_t tag) {
  dnnl_dims_t dims = {n, ch, h, w};
  dnnl_memory_desc_init_by_tag(md, 4, dims, dnnl_f32, tag);
}

/* Builds the primitive for one geometry; 0 when oneDNN refuses it. */
static int build(Entry *e) {
  const Conv *c = &e->c;
  dnnl_memory_desc_t src, wei, dst, bia;
  md4(&src, c->B, c->Cin, c->H, c->W, dnnl_nhwc);
  dnnl_memory_desc_t hwio;
  md4(&hwio, c->Cout, c->Cin, c->kh, c->kw, dnnl_hwio);
  md4(&wei, c->Cout, c->Cin, c->kh, c->kw, dnnl_format_tag_any); /* let oneDNN pick: its fast kernels want blocked weights */
  md4(&dst, c->B, c->Cout, c->Ho, c->Wo, dnnl_nhwc);
  dnnl_dims_t bdims = {c->Cout};
  dnnl_memory_desc_init_by_tag(&bia, 1, bdims, dnnl_f32, dnnl_x);
  const int64_t pb = (c->Ho - 1) * c->sh + (c->kh - 1) * c->dh + 1 - c->H - c->pt;
  const int64_t pr = (c->Wo - 1) * c->sw + (c->kw - 1) * c->dw + 1 - c->W - c->pl;
  if (pb < 0 || pr < 0) return 0; /* rows the forward pass never reads: leave to im2col */
  dnnl_dims_t strides = {c->sh, c->sw}, dil = {c->dh - 1, c->dw - 1}, pl = {c->pt, c->pl}, prr = {pb, pr};

  dnnl_convolution_desc_t fwd_d;
  if (dnnl_dilated_convolution_forward_desc_init(&fwd_d, e->kind == 0 ? dnnl_forward_inference : dnnl_forward_training, dnnl_convolution_direct, &src, &wei,
                                                 e->kind == 0 && e->hasBias ? &bia : NULL, &dst, strides, dil, pl, prr) != dnnl_success)
    return 0;
  dnnl_primitive_desc_t fwd_pd = NULL, pd = NULL;
  if (dnnl_primitive_desc_create(&fwd_pd, &fwd_d, NULL, engine, NULL) != dnnl_success) return 0;
  if (e->kind == 0) {
    pd = fwd_pd;
    fwd_pd = NULL;
  } else {
    dnnl_convolution_desc_t bwd_d;
    const dnnl_status_t st = e->kind == 1 ? dnnl_dilated_convolution_backward_data_desc_init(&bwd_d, dnnl_convolution_direct, &src, &wei, &dst, strides, dil, pl, prr)
                                          : dnnl_dilated_convolution_backward_weights_desc_init(&bwd_d, dnnl_convolution_direct, &src, &wei, NULL, &dst, strides,
                                                                                                dil, pl, prr);
    if (st != dnnl_success || dnnl_primitive_desc_create(&pd, &bwd_d, NULL, engine, fwd_pd) != dnnl_success) {
      dnnl_primitive_desc_destroy(fwd_pd);
      return 0;
    }
    dnnl_primitive_desc_destroy(fwd_pd);
  }
  /* the plain formats we asked for must be what the primitive uses (no hidden reorders) */
  const char *impl = NULL;
  dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl);
  if (impl != NULL) strncpy(info, impl, sizeof(info) - 1);
  const dnnl_memory_desc_t *descs[4];
  int n = 3;
  if (e->kind == 0) {
    descs[0] = &src, descs[1] = &wei, descs[2] = &dst, descs[3] = &bia;
    n = e->hasBias ? 4 : 3;
  } else if (e->kind == 1) {
    descs[0] = &dst, descs[1] = &wei, descs[2] = &src;
  } else {
    descs[0] = &src, descs[1] = &dst, descs[2] = &wei;
  }
  const int wi = e->kind == 2 ? 2 : 1; /* where the weights sit in descs / mem */
  const dnnl_memory_desc_t *chosen = dnnl_primitive_desc_query_md(pd, e->kind == 2 ? dnnl_query_diff_weights_md : dnnl_query_weights_md, 0);
  int ok = chosen != NULL;
  if (ok && !dnnl_memory_desc_equal(chosen, &hwio)) {
    /* weights are small (≤ kh·kw·cin·cout floats): reorder them every call */
    dnnl_primitive_desc_t rpd = NULL;
    e->wbuf = malloc(dnnl_memory_desc_get_size(chosen));
    ok = e->wbuf != NULL && dnnl_memory_create(&e->user_w, &hwio, engine, DNNL_MEMORY_NONE) == dnnl_success &&
         dnnl_memory_create(&e->prim_w, chosen, engine, e->wbuf) == dnnl_success &&
         (e->kind == 2 ? dnnl_reorder_primitive_desc_create(&rpd, chosen, engine, &hwio, engine, NULL)
                       : dnnl_reorder_primitive_desc_create(&rpd, &hwio, engine, chosen, engine, NULL)) == dnnl_success &&
         dnnl_primitive_create(&e->reorder, rpd) == dnnl_success;
    if (rpd) dnnl_primitive_desc_destroy(rpd);
  }
  for (int i = 0; ok && i < n; i++)
    if (i != wi || e->prim_w == NULL) ok = dnnl_memory_create(&e->mem[i], i == wi ? chosen : descs[i], engine, DNNL_MEMORY_NONE) == dnnl_success;
  ok = ok && dnnl_primitive_create(&e->prim, pd) == dnnl_success;
  dnnl_primitive_desc_destroy(pd);
  return ok;
}

static Entry *lookup(int kind, const Conv *c, int hasBias) {
  for (int i = 0; i < cached; i++)
    if (cache[i].kind == kind && cache[i].hasBias == hasBias && memcmp(&cache[i].c, c, sizeof(Conv)) == 0) return cache[i].prim ? &cache[i] : NULL;
  Entry *e = &cache[cached < CACHE ? cached++ : (cached = 1, 0)]; /* full: start over (rare: many shapes) */
  if (e->prim) dnnl_primitive_destroy(e->prim);
  if (e->reorder) dnnl_primitive_destroy(e->reorder);
  for (int i = 0; i < 4; i++)
    if (e->mem[i] && e->mem[i] != e->prim_w) dnnl_memory_destroy(e->mem[i]);
  if (e->user_w) dnnl_memory_destroy(e->user_w);
  if (e->prim_w) dnnl_memory_destroy(e->prim_w);
  free(e->wbuf);
  memset(e, 0, sizeof(*e));
  e->kind = kind, e->hasBias = hasBias, e->c = *c;
  if (!build(e)) {
    if (e->prim) dnnl_primitive_destroy(e->prim);
    e->prim = NULL;
    return NULL;
  }
  return e;
}

int dnnl_conv(int kind, const Conv *c, const float *a, const float *b, const float *bias, float *out) {
  if (!ready()) return 0;
  Entry *e = lookup(kind, c, kind == 0 && bias != NULL);
  if (e == NULL) return 0;
  static const int args0[4] = {DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_DST, DNNL_ARG_BIAS};
  static const int args1[3] = {DNNL_ARG_DIFF_DST, DNNL_ARG_WEIGHTS, DNNL_ARG_DIFF_SRC};
  static const int args2[3] = {DNNL_ARG_SRC, DNNL_ARG_DIFF_DST, DNNL_ARG_DIFF_WEIGHTS};
  const int *ids = kind == 0 ? args0 : kind == 1 ? args1 : args2;
  void *ptrs[4] = {(void *)a, (void *)b, out, (void *)bias};
  const int n = kind == 0 && bias != NULL ? 4 : 3;
  const int wi = kind == 2 ? 2 : 1;
  dnnl_exec_arg_t args[4];
  for (int i = 0; i < n; i++) {
    dnnl_memory_t m = i == wi && e->prim_w ? e->prim_w : e->mem[i];
    if (m != e->prim_w) dnnl_memory_set_data_handle(m, ptrs[i]);
    args[i].arg = ids[i];
    args[i].memory = m;
  }
  if (e->prim_w) dnnl_memory_set_data_handle(e->user_w, ptrs[wi]);
  if (e->prim_w && kind != 2) {
    dnnl_exec_arg_t r[2] = {{DNNL_ARG_FROM, e->user_w}, {DNNL_ARG_TO, e->prim_w}};
    if (dnnl_primitive_execute(e->reorder, stream, 2, r) != dnnl_success) return 0;
  }
  if (dnnl_primitive_execute(e->prim, stream, n, args) != dnnl_success) return 0;
  if (e->prim_w && kind == 2) {
    dnnl_exec_arg_t r[2] = {{DNNL_ARG_FROM, e->prim_w}, {DNNL_ARG_TO, e->user_w}};
    if (dnnl_primitive_execute(e->reorder, stream, 2, r) != dnnl_success) return 0;
  }
  dnnl_stream_wait(stream);
  return 1;
}

const char *dnnl_conv_info(void) { return info; }

#endif
