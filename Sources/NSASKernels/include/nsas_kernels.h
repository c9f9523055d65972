#ifndef NSAS_KERNELS_H
#define NSAS_KERNELS_H
/* Hot loops of the fast CPU backend, one image plane or one row at a time (llm.c style:
   outputs first, then inputs, then sizes). Compiled for several instruction sets at once
   (AVX-512, AVX2+FMA, baseline) and picked at load time for the CPU at hand. The plain-Swift
   reference backend defines what each computes; the tests compare the two.
   Kernels named *_add add into their outputs. */
#include <stddef.h>

/* y (n) += a * x (n) */
void nsas_axpy(float *y, const float *x, float a, long n);
/* sum of x (n), and of (x - m)^2, in float lanes summed in double */
double nsas_sum(const float *x, long n);
double nsas_sum_sq_centered(const float *x, float m, long n);
/* y (n) = x * a + b */
void nsas_affine(float *y, const float *x, float a, float b, long n);
/* sum dy, and sum dy * (x - m), over n */
void nsas_sum_dy_dyxc(const float *dy, const float *x, float m, long n, double *sum_dy, double *sum_dyxc);
/* dx (n) += k * (dy - mean_dy - (x - m) * slope), or = when accumulate is 0 */
void nsas_bn_dx(float *dx, const float *dy, const float *x, float k, float mean_dy, float m, float slope, long n, int accumulate);

/* Depthwise convolution of one plane: x is (h,w), w is (k,k), y is (oh,ow); square kernel,
   the same stride, padding and dilation on both axes. scratch holds nsas_dw_scratch(...) floats.
   With relu set (relu_input given) the convolution reads relu(x) (and its gradient is masked by
   relu_input > 0): the ReLU that precedes every DARTS convolution, fused. */
long nsas_dw_scratch(int h, int wd, int k, int pad, int dil);
void nsas_dw_forward(float *y, const float *x, const float *w, float *scratch, int h, int wd, int oh, int ow,
                     int k, int stride, int pad, int dil, int relu);
void nsas_dw_backward_data_add(float *dx, const float *dy, const float *w, float *scratch, int h, int wd, int oh, int ow,
                               int k, int stride, int pad, int dil, const float *relu_input);
/* The forward pass and input gradient of planes first .. first+count-1 of an (N, C, h, w) tensor
   (y, x, dx, dy, relu_input point at the tensors; plane p's kernel at w + (p % channels)*k*k); the
   input gradient written, or added to dx when accumulating. */
void nsas_dw_forward_planes(float *y, const float *x, const float *w, float *scratch, long first, int count, int channels,
                            int h, int wd, int oh, int ow, int k, int stride, int pad, int dil, int relu);
void nsas_dw_backward_data_planes(float *dx, const float *dy, const float *w, float *scratch, long first, int count,
                                  int channels, int h, int wd, int oh, int ow, int k, int stride, int pad, int dil,
                                  const float *relu_input, int accumulate);
void nsas_dw_backward_weight_add(float *dw, const float *x, const float *dy, float *scratch, int h, int wd, int oh, int ow,
                                 int k, int stride, int pad, int dil, int relu);
/* The same over `planes` planes (one channel of several images: x planes x_step floats apart,
   dy planes y_step apart), summed before they are added to dw. */
void nsas_dw_backward_weight_planes_add(float *dw, const float *x, const float *dy, float *scratch, int planes,
                                        long x_step, long y_step, int h, int wd, int oh, int ow,
                                        int k, int stride, int pad, int dil, int relu);

/* 3x3 pooling with padding 1 (the DARTS pools), any stride, of `planes` consecutive planes
   (x planes h*w apart, y planes oh*ow apart). scratch holds nsas_pool3_scratch(h, w) floats.
   Average pooling does not count padding; max pooling's gradient goes to the first maximal tap
   in row-major order. */
long nsas_pool3_scratch(int h, int wd);
void nsas_pool3_max_forward(float *y, const float *x, float *scratch, int planes, int h, int wd, int oh, int ow, int stride);
void nsas_pool3_avg_forward(float *y, const float *x, float *scratch, int planes, int h, int wd, int oh, int ow, int stride);
void nsas_pool3_max_backward_add(float *dx, const float *dy, const float *x, float *scratch,
                                 int planes, int h, int wd, int oh, int ow, int stride);
void nsas_pool3_avg_backward_add(float *dx, const float *dy, float *scratch, int planes, int h, int wd, int oh, int ow, int stride);

/* c (m,n) = [c +] a (m,k) * b (k,n), a's element (i,q) at a[i*sam + q*sak] (so a may be a
   transposed view), b read as relu(b) when relu_b is set; m % 4 == 0, n % 16 == 0. For thin
   products (1x1 convolutions). */
void nsas_gemm_rows16(float *c, const float *a, long sam, long sak, const float *b,
                      int m, int k, long n, int accumulate, int relu_b);
/* The same with an epilogue per output row i: c = acc * scale[i] + shift[i] (scale NULL: none);
   evaluation-mode batch norm folded into a 1x1 convolution. */
void nsas_gemm_rows16_affine(float *c, const float *a, long sam, long sak, const float *b,
                             int m, int k, long n, int accumulate, int relu_b,
                             const float *scale, const float *shift);
/* c += the product, only where mask (m,n) > 0 (c = the product there and 0 elsewhere when
   accumulate is 0): the input gradient of a 1x1 convolution whose input went through a ReLU,
   in one pass. */
void nsas_gemm_rows16_mask(float *c, const float *a, long sam, long sak, const float *b,
                           int m, int k, long n, const float *mask, int accumulate);

/* c (m,n) += sum over count pairs of a_i (m,k) * b_i (n,k)^T, a_i = a + i*a_step, b_i = b + i*b_step,
   b read as relu(b) when relu_b is set; m % 4 == 0, n % 4 == 0, k % 16 == 0; scratch holds
   m*n*16 floats. The weight gradient of a 1x1 convolution over a batch. */
void nsas_gemm_nt_batched_add(float *c, float *scratch, const float *a, long a_step, const float *b, long b_step,
                              int m, int n, long k, int count, int relu_b);
/* Both gradients of a 1x1 stride-1 convolution over `count` images, image by image: dx = w^T dy
   (where x > 0 with relu; added when accumulating) and dw += dy relu?(x)^T, equal to
   nsas_gemm_rows16(_mask) and nsas_gemm_nt_batched_add; cout % 4 == 0, cin % 16 == 0,
   hw % 16 == 0; scratch holds cout*cin*16 floats. */
void nsas_conv1x1_backward(float *dx, float *dw, float *scratch, const float *dy, const float *w, const float *x,
                           int cout, int cin, long hw, int count, int relu, int accumulate);
/* The same over a run of images given in parts, in the same order: `first` starts the run's
   sums in scratch, `last` adds them into dw; `wide` is nsas_conv1x1_wide() read once for the run
   (the scratch's layout). */
int nsas_conv1x1_wide(void);
void nsas_conv1x1_backward_part(float *dx, float *dw, float *scratch, const float *dy, const float *w, const float *x,
                                int cout, int cin, long hw, int count, int relu, int accumulate, int wide, int first, int last);
/* A 1x1 convolution's im2col with stride (sy, sx) and no padding: dst (planes, oh, ow) = src
   (planes, h, w) at (at + oy*sy, at + ox*sx), relu'd when asked; and its adjoint: dst at those
   positions += src, only where mask > 0 when a mask is given. at + (oh-1)*sy < h, at + (ow-1)*sx < w. */
void nsas_gather_strided(float *dst, const float *src, int planes, int h, int w, int oh, int ow, int sy, int sx, int at, int relu);
void nsas_scatter_strided_add(float *dst, const float *src, int planes, int h, int w, int oh, int ow, int sy, int sx, int at,
                              const float *mask);
/* For stride 2 (h, w even): rows at, at+2, ... of dst written whole, src's values (where mask > 0)
   at columns at, at+2, ... and zeros between; at 0 and 1 together write all of dst. */
void nsas_scatter_stride2_write(float *dst, const float *src, int planes, int h, int w, int at, const float *mask);
/* The register blocks of the 1x1-convolution kernels: 0 (default) by the CPU (with AVX-512 4
   rows by 2 vectors of products and 4x4 weight-gradient blocks, else 4 by 1 and 2x2); tests set
   16 (the AVX-512 blocks) or 4 (the AVX2 ones) to run both code paths on one machine. */
extern int nsas_gemm_rows_block;
/* A general convolution's im2col: col (planes*kh*kw, oh, ow) from x (planes, h, w) with stride
   (sy, sx), padding (py, px) and dilation (dy, dx), relu(x) when asked; and its adjoint,
   dxp += col2im(col), only where x > 0 when relu. */
void nsas_im2col(float *col, const float *x, int planes, int h, int w, int kh, int kw,
                 int sy, int sx, int py, int px, int dy, int dx, int oh, int ow, int relu);
void nsas_col2im_add(float *dxp, const float *col, const float *x, int planes, int h, int w,
                     int kh, int kw, int sy, int sx, int py, int px, int dy, int dx, int oh, int ow, int relu);
/* Elementwise: y = relu(x); dx += (x > 0) * dy; z = a + b, a - b, a * b. */
void nsas_relu(float *y, const float *x, long n);
/* Log-softmax of each row of (rows, c), and its backward dx += dy - exp(y) * sum(dy) per row
   (y the log-softmax output). A vectorised expf with about 1e-7 relative error. */
void nsas_log_softmax_rows(float *y, const float *x, long rows, long c);
void nsas_log_softmax_backward_add(float *dx, const float *dy, const float *y, long rows, long c);
void nsas_relu_backward_add(float *dx, const float *dy, const float *x, long n);
void nsas_add(float *z, const float *a, const float *b, long n);
void nsas_sub(float *z, const float *a, const float *b, long n);
void nsas_mul(float *z, const float *a, const float *b, long n);

/* Runs fn(ctx, c) for c in 0..<chunks on up to `threads` threads (the caller and a pool of
   workers, threads - 1 of them, started by the first call that needs them: the first call fixes
   the pool's size) and returns when all are done. Calls made while another call's chunks run
   (nested, or from another thread) run their chunks on the caller, in order. */
typedef void (*nsas_chunk_fn)(void *ctx, int chunk);
/* The number of CPUs in this process's affinity mask (0 when it cannot be read). */
int nsas_affinity_cpus(void);
void nsas_pool_run(int threads, int chunks, nsas_chunk_fn fn, void *ctx);
#endif
