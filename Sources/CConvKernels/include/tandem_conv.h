/* A direct AVX-512 kernel for stride-1 convolutions on a zero-padded grid (the "shifted GEMM"
 * layout of NN's PaddedGrid): the sum over kernel taps of W_t[M, C] · X[C, q + offset_t], with
 * the input read in place (no packing per tap) and each output written once. */
#ifndef TANDEM_CONV_H
#define TANDEM_CONV_H

/* Whether this CPU runs the kernel (AVX-512F); otherwise callers use sgemm. */
int tandem_conv_taps_available(void);

/* y[i][q] = Σ_t Σ_j taps[t][i][j] · x[j][q + offsets[t]] for i < m, q < n (y overwritten).
 * x has c rows of stride ldx (every x[j][q + offsets[t]] with q < n must be readable), y has m
 * rows of stride ldy, taps is [t][m][c]. m must be a multiple of 4. Returns 0 on success, -1 when
 * the CPU lacks AVX-512 or m is not a multiple of 4 or memory for the packed weights cannot be
 * allocated (nothing written). Single-threaded; callers split the work. */
int tandem_conv_taps(
  const float *x, long ldx, long c, const float *taps, long m, const long *offsets, long t,
  float *y, long ldy, long n);

/* The weight gradient of the same convolution: grad[s][j][i] += Σ_{q<n} x[j][q + offsets[s]] ·
 * dy[i][q] for s < t, j < c, i < m (grad is [t][c][m]; dy rows of stride ldy hold zeros where
 * the grid has junk positions). c must be even and m a multiple of 4; returns 0 on success, -1
 * (nothing written) otherwise or without AVX-512. Single-threaded. */
int tandem_conv_taps_weight_gradient(
  const float *x, long ldx, long c, const float *dy, long ldy, long m, const long *offsets,
  long t, float *grad, long n);

#endif
