/* Direct stride-1 convolution on a padded grid, AVX-512 (see tandem_conv.h).
 *
 * Register block: 4 output rows × 96 positions (6 vectors of 16) = 24 accumulators; per input
 * channel and tap, 6 unaligned loads of the shifted input and 4 weight broadcasts feed 24 FMAs.
 * The weights are repacked once per call as [m/4][c][t][4] so the broadcasts walk memory in
 * order. Positions past the last full block run 16 at a time with masked loads and stores, so
 * nothing beyond q + offset < n + offset is read. */
#include "tandem_conv.h"

#include <immintrin.h>
#include <stdatomic.h>
#include <stdlib.h>

#define MR 4
#define NV 6

int tandem_conv_taps_available(void) {
  /* Worker threads ask concurrently: an atomic cache (every writer stores the same value). */
  static _Atomic int cached = -1;
  int value = atomic_load_explicit(&cached, memory_order_relaxed);
  if (value < 0) {
    __builtin_cpu_init();
    value = __builtin_cpu_supports("avx512f") ? 1 : 0;
    atomic_store_explicit(&cached, value, memory_order_relaxed);
  }
  return value;
}

/* The first `left` of 16 lanes (all of them when left >= 16): the masked tail of a row. */
static inline __mmask16 tail_mask(long left) {
  return left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1);
}

__attribute__((target("avx512f"))) static void block96(
  const float *x, long ldx, long c, const float *w, const long *off, long t, float *y, long ldy)
{
  __m512 a00 = _mm512_setzero_ps(), a01 = a00, a02 = a00, a03 = a00, a04 = a00, a05 = a00;
  __m512 a10 = a00, a11 = a00, a12 = a00, a13 = a00, a14 = a00, a15 = a00;
  __m512 a20 = a00, a21 = a00, a22 = a00, a23 = a00, a24 = a00, a25 = a00;
  __m512 a30 = a00, a31 = a00, a32 = a00, a33 = a00, a34 = a00, a35 = a00;
  for (long j = 0; j < c; j++) {
    const float *xj = x + j * ldx;
    const float *wj = w + j * t * MR;
    for (long s = 0; s < t; s++) {
      const float *p = xj + off[s];
      const __m512 x0 = _mm512_loadu_ps(p), x1 = _mm512_loadu_ps(p + 16);
      const __m512 x2 = _mm512_loadu_ps(p + 32), x3 = _mm512_loadu_ps(p + 48);
      const __m512 x4 = _mm512_loadu_ps(p + 64), x5 = _mm512_loadu_ps(p + 80);
      const float *ws = wj + s * MR;
      __m512 v = _mm512_set1_ps(ws[0]);
      a00 = _mm512_fmadd_ps(v, x0, a00); a01 = _mm512_fmadd_ps(v, x1, a01);
      a02 = _mm512_fmadd_ps(v, x2, a02); a03 = _mm512_fmadd_ps(v, x3, a03);
      a04 = _mm512_fmadd_ps(v, x4, a04); a05 = _mm512_fmadd_ps(v, x5, a05);
      v = _mm512_set1_ps(ws[1]);
      a10 = _mm512_fmadd_ps(v, x0, a10); a11 = _mm512_fmadd_ps(v, x1, a11);
      a12 = _mm512_fmadd_ps(v, x2, a12); a13 = _mm512_fmadd_ps(v, x3, a13);
      a14 = _mm512_fmadd_ps(v, x4, a14); a15 = _mm512_fmadd_ps(v, x5, a15);
      v = _mm512_set1_ps(ws[2]);
      a20 = _mm512_fmadd_ps(v, x0, a20); a21 = _mm512_fmadd_ps(v, x1, a21);
      a22 = _mm512_fmadd_ps(v, x2, a22); a23 = _mm512_fmadd_ps(v, x3, a23);
      a24 = _mm512_fmadd_ps(v, x4, a24); a25 = _mm512_fmadd_ps(v, x5, a25);
      v = _mm512_set1_ps(ws[3]);
      a30 = _mm512_fmadd_ps(v, x0, a30); a31 = _mm512_fmadd_ps(v, x1, a31);
      a32 = _mm512_fmadd_ps(v, x2, a32); a33 = _mm512_fmadd_ps(v, x3, a33);
      a34 = _mm512_fmadd_ps(v, x4, a34); a35 = _mm512_fmadd_ps(v, x5, a35);
    }
  }
  float *y0 = y, *y1 = y + ldy, *y2 = y + 2 * ldy, *y3 = y + 3 * ldy;
  _mm512_storeu_ps(y0, a00); _mm512_storeu_ps(y0 + 16, a01); _mm512_storeu_ps(y0 + 32, a02);
  _mm512_storeu_ps(y0 + 48, a03); _mm512_storeu_ps(y0 + 64, a04); _mm512_storeu_ps(y0 + 80, a05);
  _mm512_storeu_ps(y1, a10); _mm512_storeu_ps(y1 + 16, a11); _mm512_storeu_ps(y1 + 32, a12);
  _mm512_storeu_ps(y1 + 48, a13); _mm512_storeu_ps(y1 + 64, a14); _mm512_storeu_ps(y1 + 80, a15);
  _mm512_storeu_ps(y2, a20); _mm512_storeu_ps(y2 + 16, a21); _mm512_storeu_ps(y2 + 32, a22);
  _mm512_storeu_ps(y2 + 48, a23); _mm512_storeu_ps(y2 + 64, a24); _mm512_storeu_ps(y2 + 80, a25);
  _mm512_storeu_ps(y3, a30); _mm512_storeu_ps(y3 + 16, a31); _mm512_storeu_ps(y3 + 32, a32);
  _mm512_storeu_ps(y3 + 48, a33); _mm512_storeu_ps(y3 + 64, a34); _mm512_storeu_ps(y3 + 80, a35);
}

/* Up to 16 positions (mask), 4 rows. */
__attribute__((target("avx512f"))) static void block16(
  const float *x, long ldx, long c, const float *w, const long *off, long t, float *y, long ldy,
  __mmask16 mask)
{
  __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  for (long j = 0; j < c; j++) {
    const float *xj = x + j * ldx;
    const float *wj = w + j * t * MR;
    for (long s = 0; s < t; s++) {
      const __m512 v = _mm512_maskz_loadu_ps(mask, xj + off[s]);
      const float *ws = wj + s * MR;
      a0 = _mm512_fmadd_ps(_mm512_set1_ps(ws[0]), v, a0);
      a1 = _mm512_fmadd_ps(_mm512_set1_ps(ws[1]), v, a1);
      a2 = _mm512_fmadd_ps(_mm512_set1_ps(ws[2]), v, a2);
      a3 = _mm512_fmadd_ps(_mm512_set1_ps(ws[3]), v, a3);
    }
  }
  _mm512_mask_storeu_ps(y, mask, a0);
  _mm512_mask_storeu_ps(y + ldy, mask, a1);
  _mm512_mask_storeu_ps(y + 2 * ldy, mask, a2);
  _mm512_mask_storeu_ps(y + 3 * ldy, mask, a3);
}

int tandem_conv_taps(
  const float *x, long ldx, long c, const float *taps, long m, const long *offsets, long t,
  float *y, long ldy, long n)
{
  if (!tandem_conv_taps_available() || m % MR != 0 || m <= 0 || c <= 0 || t <= 0 || n < 0)
    return -1;
  float *w = malloc(sizeof(float) * (size_t)(m * c * t));
  if (!w) return -1;
  /* [t][m][c] → [m/4][c][t][4] */
  for (long mb = 0; mb < m / MR; mb++)
    for (long j = 0; j < c; j++)
      for (long s = 0; s < t; s++)
        for (long r = 0; r < MR; r++)
          w[((mb * c + j) * t + s) * MR + r] = taps[(s * m + mb * MR + r) * c + j];
  const long full = n / (16 * NV) * (16 * NV);
  /* Position blocks outside, row blocks inside: the input block stays in cache while every
   * row block uses it. */
  for (long q = 0; q < full; q += 16 * NV)
    for (long mb = 0; mb < m / MR; mb++)
      block96(x + q, ldx, c, w + mb * c * t * MR, offsets, t, y + mb * MR * ldy + q, ldy);
  for (long q = full; q < n; q += 16) {
    const __mmask16 mask = tail_mask(n - q);
    for (long mb = 0; mb < m / MR; mb++)
      block16(x + q, ldx, c, w + mb * c * t * MR, offsets, t, y + mb * MR * ldy + q, ldy, mask);
  }
  free(w);
  return 0;
}

/* Weight gradient: 2 input channels × 3 taps × 4 output channels = 24 accumulators, each a
 * vector of partial sums over positions, reduced once per chunk. Per 16 positions: 6 shifted
 * input loads and 4 dy loads feed 24 FMAs. Positions run in chunks of 2048 (measured on
 * tandem-small's 64×64 and 32×32 layers against 512 and whole rows: 512 pays too many
 * reductions, whole rows fall out of L1/L2), every output block using a channel pair's chunk. `taps` is 3 or 1 (the remainder
 * when t is not a multiple of 3); `g` points at grad[s0][j0][i0], taps `tapStride` apart,
 * channels `m` apart. */
#define WG_CHUNK 2048

__attribute__((target("avx512f"))) static void wg_block(
  const float *x0, const float *x1, const float *dy, long ldy, const long *off, long taps,
  long q0, long q1, float *g, long tapStride, long m)
{
  __m512 acc[2][3][4];
  for (int j = 0; j < 2; j++)
    for (int s = 0; s < 3; s++)
      for (int r = 0; r < 4; r++) acc[j][s][r] = _mm512_setzero_ps();
  const long o0 = off[0], o1 = taps > 1 ? off[1] : 0, o2 = taps > 1 ? off[2] : 0;
  for (long q = q0; q < q1; q += 16) {
    const __mmask16 k = tail_mask(q1 - q);
    const __m512 d0 = _mm512_maskz_loadu_ps(k, dy + q);
    const __m512 d1 = _mm512_maskz_loadu_ps(k, dy + ldy + q);
    const __m512 d2 = _mm512_maskz_loadu_ps(k, dy + 2 * ldy + q);
    const __m512 d3 = _mm512_maskz_loadu_ps(k, dy + 3 * ldy + q);
#define WG_TAP(J, XP, S, O)                                  \
  {                                                          \
    const __m512 v = _mm512_maskz_loadu_ps(k, XP + q + O);   \
    acc[J][S][0] = _mm512_fmadd_ps(v, d0, acc[J][S][0]);     \
    acc[J][S][1] = _mm512_fmadd_ps(v, d1, acc[J][S][1]);     \
    acc[J][S][2] = _mm512_fmadd_ps(v, d2, acc[J][S][2]);     \
    acc[J][S][3] = _mm512_fmadd_ps(v, d3, acc[J][S][3]);     \
  }
    WG_TAP(0, x0, 0, o0)
    WG_TAP(1, x1, 0, o0)
    if (taps > 1) {
      WG_TAP(0, x0, 1, o1)
      WG_TAP(1, x1, 1, o1)
      WG_TAP(0, x0, 2, o2)
      WG_TAP(1, x1, 2, o2)
    }
#undef WG_TAP
  }
  for (int s = 0; s < (taps > 1 ? 3 : 1); s++)
    for (int j = 0; j < 2; j++)
      for (int r = 0; r < 4; r++) g[s * tapStride + j * m + r] += _mm512_reduce_add_ps(acc[j][s][r]);
}

int tandem_conv_taps_weight_gradient(
  const float *x, long ldx, long c, const float *dy, long ldy, long m, const long *offsets,
  long t, float *grad, long n)
{
  if (!tandem_conv_taps_available() || m % 4 != 0 || c % 2 != 0 || m <= 0 || c <= 0 || t <= 0 ||
      n < 0)
    return -1;
  for (long q0 = 0; q0 < n; q0 += WG_CHUNK) {
    const long q1 = q0 + WG_CHUNK < n ? q0 + WG_CHUNK : n;
    for (long j = 0; j < c; j += 2)
      for (long i = 0; i < m; i += 4)
        for (long s = 0; s < t;) {
          const long taps = t - s >= 3 ? 3 : 1;
          wg_block(
            x + j * ldx, x + (j + 1) * ldx, dy + i * ldy, ldy, offsets + s, taps, q0, q1,
            grad + (s * c + j) * m + i, c * m, m);
          s += taps;
        }
  }
  return 0;
}
