/* Thin matrix products of 1x1 convolutions and the strided copies of stride-2 1x1 convolutions. */
#include "kernels_internal.h"
#include <string.h>

/* Small-dimension matrix products for 1x1 convolutions, where OpenBLAS's packing of a thin
   matrix costs more than the product. A block of R output rows by V 16-float vectors lives in
   registers. With AVX-512: R = 8, V = 2 where the rows allow (16 sums: 2 loads and 8 broadcasts
   per 16 products), else R = 4, V = 2; columns first so that every row block runs on a column
   block while b's lines are in L1, and the first row block prefetching b PF floats ahead (b is
   one stream per row, k of them 4 KB apart at 32x32: more than the hardware prefetcher follows).
   8 x 2 against 4 x 2 in 512-bit code: 1.03-1.13x streamed from memory, 1.1-1.3x from cache
   (Tools/bench/gemm_rows_block.c; docs/benchmarks.md). With AVX2, where a 16-float vector takes
   two of 16 registers: R = 4, V = 1, rows first (16 rows spilled). Every block sums each output
   in the same order, so all give identical results. */
/* 0: by the CPU; 16 forces the AVX-512 blocks, 4 the AVX2 ones (tests run both on any machine). */
int nsas_gemm_rows_block = 0;

/* Whether the AVX-512 register blocks run: the clone that runs is the AVX-512 one exactly when
   the CPU has AVX-512 (target_clones; in a single-architecture build, when it is built for
   AVX-512), unless a test forces a block. */
static inline int wide_blocks(void) {
    return nsas_gemm_rows_block != 4 && (nsas_gemm_rows_block == 16 || HAS_AVX512());
}

#define GEMM_ROWS_PF 128
/* One block, for a vector type T (W floats, IT its lane mask type): 16-float vectors (one AVX-512
   register) and, for AVX2, 8-float ones (one AVX2 register). */
#define GEMM_ROWS_BLOCK_OF(NAME, T, IT, W, R, V)                                                          \
INLINE void NAME(float *c, const float *arow, long sam, long sak, const float *b, int m0, int k, long n,  \
                 long p, int accumulate, int relu_b, const float *scale, const float *shift,              \
                 const float *mask, int pf) {                                                             \
    const T zero = {0};                                                                                    \
    T acc[R][V];                                                                                           \
    /* accumulating: from c's values (with a mask: the masked product is added at the end, to 0 when   \
       not accumulating) */                                                                                \
    for (int j = 0; j < R; j++)                                                                            \
        for (int v = 0; v < V; v++)                                                                        \
            acc[j][v] = accumulate && !mask ? *(const T *)(c + (long)(m0 + j) * n + p + v * W) : zero;    \
    for (int q = 0; q < k; q++) {                                                                          \
        const float *bq = b + (long)q * n + p;                                                             \
        T bv[V];                                                                                           \
        for (int v = 0; v < V; v++) {                                                                      \
            bv[v] = *(const T *)(bq + v * W);                                                              \
            if (relu_b) bv[v] = __builtin_elementwise_max(bv[v], zero);                                   \
        }                                                                                                  \
        if (pf) for (int v = 0; v < V; v++) __builtin_prefetch(bq + GEMM_ROWS_PF + v * W);                 \
        const float *aq = arow + (long)q * sak;                                                            \
        for (int j = 0; j < R; j++) {                                                                      \
            float s = aq[(long)j * sam];                                                                   \
            for (int v = 0; v < V; v++) acc[j][v] += s * bv[v];                                            \
        }                                                                                                  \
    }                                                                                                      \
    for (int j = 0; j < R; j++)                                                                            \
        for (int v = 0; v < V; v++) {                                                                      \
            float *cj = c + (long)(m0 + j) * n + p + v * W;                                                \
            T r = acc[j][v];                                                                               \
            if (scale) r = r * scale[m0 + j] + shift[m0 + j];                                              \
            if (mask) r = (accumulate ? *(const T *)cj : zero) + (T)((IT)r & (*(const T *)(mask + (cj - c)) > zero)); \
            *(T *)cj = r;                                                                                  \
        }                                                                                                  \
}
#define GEMM_ROWS_BLOCK(R, V) GEMM_ROWS_BLOCK_OF(gemm_rows_block##R##x##V, v16, i16, VL, R, V)
GEMM_ROWS_BLOCK(8, 2)
GEMM_ROWS_BLOCK(4, 2)
GEMM_ROWS_BLOCK(4, 1)

/* For AVX2, 4 rows x V 8-float vectors; 4 x 3 keeps 12 sums in AVX2's 16 registers, where 4 rows
   of one 16-float vector keep 8. Same sums, same order, same epilogue. */
typedef int i8 __attribute__((vector_size(32), aligned(4)));
#define GEMM_ROWS_HALF_BLOCK(V) GEMM_ROWS_BLOCK_OF(gemm_rows_half4x##V, v8, i8, 8, 4, V)
GEMM_ROWS_HALF_BLOCK(3)
GEMM_ROWS_HALF_BLOCK(2)
GEMM_ROWS_HALF_BLOCK(1)

/* AVX-512: columns first, blocks of 8 rows x 2 vectors where m % 8 == 0, else 4 x 2; one vector
   where n % 32 == 16; the first row block of a column block prefetching b. m % 4 == 0,
   n % 16 == 0. */
INLINE void gemm_rows_wide(float *c, const float *a, long sam, long sak, const float *b, int m, int k, long n,
                           int accumulate, int relu_b, const float *scale, const float *shift, const float *mask) {
    long p = 0;
    for (; p + 2 * VL <= n; p += 2 * VL) {
        int pf = p + GEMM_ROWS_PF < n;
        if (m % 8 == 0)
            for (int m0 = 0; m0 < m; m0 += 8)
                gemm_rows_block8x2(c, a + (long)m0 * sam, sam, sak, b, m0, k, n, p, accumulate, relu_b,
                                   scale, shift, mask, m0 == 0 && pf);
        else
            for (int m0 = 0; m0 < m; m0 += 4)
                gemm_rows_block4x2(c, a + (long)m0 * sam, sam, sak, b, m0, k, n, p, accumulate, relu_b,
                                   scale, shift, mask, m0 == 0 && pf);
    }
    for (; p < n; p += VL)
        for (int m0 = 0; m0 < m; m0 += 4)
            gemm_rows_block4x1(c, a + (long)m0 * sam, sam, sak, b, m0, k, n, p, accumulate, relu_b,
                               scale, shift, mask, 0);
}

/* AVX2: rows first, blocks of 4 rows x 3 8-float vectors where b needs no ReLU, the last 8 or 16
   columns of a row (n % 24 is 0, 8 or 16 when n % 16 == 0), and all of them with the ReLU, in
   4 x 2 and 4 x 1; no prefetch (columns first, 2 x 2 blocks or
   prefetching were no faster in the AVX2 build here). 4 x 3 against the former 4 rows x one
   16-float vector in the AVX2 build: 1.05-1.37x at the step's widths (h4x3 in Tools/bench/gemm_rows_block.c; docs/benchmarks.md). */
INLINE void gemm_rows_narrow(float *c, const float *a, long sam, long sak, const float *b, int m, int k, long n,
                             int accumulate, int relu_b, const float *scale, const float *shift, const float *mask) {
    for (int m0 = 0; m0 < m; m0 += 4) {
        const float *arow = a + (long)m0 * sam;
        long p = 0;
        if (!relu_b)   /* with the ReLU, 4 x 3 needs a 17th register (the zero) and spills */
            for (; p + 24 <= n; p += 24)
                gemm_rows_half4x3(c, arow, sam, sak, b, m0, k, n, p, accumulate, relu_b, scale, shift, mask, 0);
        for (; p + 16 <= n; p += 16)
            gemm_rows_half4x2(c, arow, sam, sak, b, m0, k, n, p, accumulate, relu_b, scale, shift, mask, 0);
        if (n - p == 8) gemm_rows_half4x1(c, arow, sam, sak, b, m0, k, n, p, accumulate, relu_b, scale, shift, mask, 0);
    }
}

INLINE void gemm_rows16_body(float *c, const float *a, long sam, long sak, const float *b,
                             int m, int k, long n, int accumulate, int relu_b,
                             const float *scale, const float *shift, const float *mask) {
    if (wide_blocks()) gemm_rows_wide(c, a, sam, sak, b, m, k, n, accumulate, relu_b, scale, shift, mask);
    else gemm_rows_narrow(c, a, sam, sak, b, m, k, n, accumulate, relu_b, scale, shift, mask);
}

CLONES void nsas_gemm_rows16_affine(float *c, const float *a, long sam, long sak, const float *b,
                                    int m, int k, long n, int accumulate, int relu_b,
                                    const float *scale, const float *shift) {
    gemm_rows16_body(c, a, sam, sak, b, m, k, n, accumulate, relu_b, scale, shift, 0);
}

CLONES void nsas_gemm_rows16_mask(float *c, const float *a, long sam, long sak, const float *b,
                                  int m, int k, long n, const float *mask, int accumulate) {
    gemm_rows16_body(c, a, sam, sak, b, m, k, n, accumulate, 0, 0, 0, mask);
}

CLONES void nsas_gemm_rows16(float *c, const float *a, long sam, long sak, const float *b,
                             int m, int k, long n, int accumulate, int relu_b) {
    nsas_gemm_rows16_affine(c, a, sam, sak, b, m, k, n, accumulate, relu_b, 0, 0);
}

/* c (m,n) += sum over count pairs of a_i (m,k) times b_i (n,k) transposed (b read as relu(b)
   when asked), a_i = a + i*a_step, b_i = b + i*b_step: the weight gradient of a 1x1 convolution
   over a batch (dy times x transposed). Image by image (its rows stay in cache while every block
   reads them), blocks of B x B outputs keep B*B running vector sums over k in registers; the sums
   carry over images in `scratch` (m*n vectors) and are reduced once at the end. B = 4 with
   AVX-512; B = 2 otherwise: 4 x 4 blocks (16 sums, 8 operands) spilled AVX2's 16 registers, and
   2 x 2 ran 2.2-2.8x faster in the AVX2 build (docs/benchmarks.md). Either B sums each output in
   the same order.
   m % 4 == 0, n % 4 == 0, k % 16 == 0. */
#define GEMM_NT_BODY(B)                                                                                    \
INLINE void gemm_nt_images##B(float *scratch, const float *a, long a_step, const float *b, long b_step,    \
                              int m, int n, long k, int count, int relu_b) {                               \
    for (int img = 0; img < count; img++)                                                                  \
        for (int i0 = 0; i0 < m; i0 += B)                                                                  \
            for (int j0 = 0; j0 < n; j0 += B) {                                                            \
                const float *ai = a + img * a_step + (long)i0 * k, *bj = b + img * b_step + (long)j0 * k;  \
                float *sums = scratch + ((long)i0 * n + (long)j0 * B) * VL;   /* the block's vectors */    \
                v16 acc[B][B];                                                                             \
                for (int i = 0; i < B; i++)                                                                \
                    for (int j = 0; j < B; j++) acc[i][j] = vld(sums + (i * B + j) * VL);                  \
                for (long p = 0; p < k; p += VL) {                                                         \
                    v16 av[B], bv[B];                                                                      \
                    for (int i = 0; i < B; i++) av[i] = vld(ai + i * k + p);                               \
                    for (int j = 0; j < B; j++) bv[j] = VRELU_IF(vld(bj + j * k + p), relu_b);             \
                    for (int i = 0; i < B; i++)                                                            \
                        for (int j = 0; j < B; j++) acc[i][j] += av[i] * bv[j];                            \
                }                                                                                          \
                for (int i = 0; i < B; i++)                                                                \
                    for (int j = 0; j < B; j++) vst(sums + (i * B + j) * VL, acc[i][j]);                   \
            }                                                                                              \
}                                                                                                          \
INLINE void gemm_nt_reduce##B(float *c, const float *scratch, int m, int n) {                              \
    for (int i0 = 0; i0 < m; i0 += B)                                                                      \
        for (int j0 = 0; j0 < n; j0 += B)                                                                  \
            for (int i = 0; i < B; i++)                                                                    \
                for (int j = 0; j < B; j++)                                                                \
                    c[(long)(i0 + i) * n + j0 + j] += VSUM(vld(scratch + ((long)i0 * n + (long)j0 * B + i * B + j) * VL)); \
}
GEMM_NT_BODY(4)
GEMM_NT_BODY(2)

INLINE void gemm_nt_clear(float *scratch, int m, int n) {
    for (long t = 0; t < (long)m * n; t++) vst(scratch + t * VL, vsplat(0));
}

/* `wide`: wide_blocks() read once per kernel call, so that the scratch's block layout cannot
   change between the images and the reduction (tests force the blocks while others run). */
INLINE void gemm_nt_images(float *scratch, const float *a, long a_step, const float *b, long b_step,
                           int m, int n, long k, int count, int relu_b, int wide) {
    if (wide) gemm_nt_images4(scratch, a, a_step, b, b_step, m, n, k, count, relu_b);
    else gemm_nt_images2(scratch, a, a_step, b, b_step, m, n, k, count, relu_b);
}

INLINE void gemm_nt_reduce(float *c, const float *scratch, int m, int n, int wide) {
    if (wide) gemm_nt_reduce4(c, scratch, m, n);
    else gemm_nt_reduce2(c, scratch, m, n);
}

CLONES void nsas_gemm_nt_batched_add(float *c, float *scratch, const float *a, long a_step, const float *b, long b_step,
                                     int m, int n, long k, int count, int relu_b) {
    int wide = wide_blocks();
    gemm_nt_clear(scratch, m, n);
    gemm_nt_images(scratch, a, a_step, b, b_step, m, n, k, count, relu_b, wide);
    gemm_nt_reduce(c, scratch, m, n, wide);
}

/* nsas_conv1x1_backward (below) over a run of images given in parts: `first` clears the scratch sums
   before the part, `last` adds them into dw after it; the parts between carry the sums over, so
   a run given in parts sums in the same order as given at once (a caller works on each part's dx
   while it is in cache). `wide`: nsas_conv1x1_wide() read once for the whole run, as the
   scratch's layout depends on it (tests force the blocks while other tests run). */
CLONES void nsas_conv1x1_backward_part(float *dx, float *dw, float *scratch, const float *dy, const float *w, const float *x,
                                       int cout, int cin, long hw, int count, int relu, int accumulate, int wide,
                                       int first, int last) {
    if (first) gemm_nt_clear(scratch, cout, cin);
    for (int img = 0; img < count; img++) {
        const float *dyi = dy + (long)img * cout * hw, *xi = x + (long)img * cin * hw;
        float *dxi = dx + (long)img * cin * hw;
        gemm_rows16_body(dxi, w, 1, cin, dyi, cin, cout, hw, accumulate, 0, 0, 0, relu ? xi : 0);
        gemm_nt_images(scratch, dyi, 0, xi, 0, cout, cin, hw, 1, relu, wide);
    }
    if (last) gemm_nt_reduce(dw, scratch, cout, cin, wide);
}

int nsas_conv1x1_wide(void) { return wide_blocks(); }

/* Both gradients of a 1x1 stride-1 convolution (cout x cin weights, planes of hw floats) over
   `count` consecutive images, image by image, so that the weight gradient reads each image's dy
   and x while the input gradient has just brought them into cache (two passes over them from
   memory, against four for the two kernels one after the other):
     dx_i = w^T dy_i, kept where x_i > 0 with relu (added to dx_i when accumulating);
     dw += sum_i dy_i relu?(x_i)^T, through `scratch` (cout*cin vectors).
   Each result is summed in the same order as by nsas_gemm_rows16(_mask) and
   nsas_gemm_nt_batched_add, so the two ways agree exactly.
   cout % 4 == 0, cin % 16 == 0, hw % 16 == 0; scratch holds cout*cin*16 floats. */
CLONES void nsas_conv1x1_backward(float *dx, float *dw, float *scratch, const float *dy, const float *w, const float *x,
                                  int cout, int cin, long hw, int count, int relu, int accumulate) {
    nsas_conv1x1_backward_part(dx, dw, scratch, dy, w, x, cout, cin, hw, count, relu, accumulate, wide_blocks(), 1, 1);
}

/* The im2col and col2im of a 1x1 convolution with a stride and no padding (FactorizedReduce):
   dst (planes, oh, ow) = src (planes, h, w) at rows at+oy*sy and columns at+ox*sx (relu'd when
   asked), and its adjoint, dst at those positions += src (only where mask > 0 when a mask is
   given); `at` is 1 for FactorizedReduce's second half (the input shifted by one pixel, read in
   place). Stride-2 columns by splitting even and odd columns in registers where a row allows;
   nothing past a row's last column is touched. */
CLONES void nsas_gather_strided(float *restrict dst, const float *restrict src, int planes, int h, int w,
                                int oh, int ow, int sy, int sx, int at, int relu) {
    for (long p = 0; p < planes; p++)
        for (int oy = 0; oy < oh; oy++) {
            const float *restrict row = src + (p * h + at + (long)oy * sy) * w + at;
            float *restrict d = dst + (p * oh + oy) * (long)ow;
            int ox = 0;
            if (sx == 2)
                for (; at + 2 * (ox + VL) <= w; ox += VL) {
                    v16 e = EVENS(vld(row + 2 * ox), vld(row + 2 * ox + VL));
                    vst(d + ox, relu ? __builtin_elementwise_max(e, vsplat(0)) : e);
                }
            for (; ox < ow; ox++) {
                float v = row[(long)ox * sx];
                d[ox] = relu && !(v > 0) ? 0 : v;
            }
        }
}

CLONES void nsas_scatter_strided_add(float *restrict dst, const float *restrict src, int planes, int h, int w,
                                     int oh, int ow, int sy, int sx, int at, const float *restrict mask) {
    v16 zero = vsplat(0);
    for (long p = 0; p < planes; p++)
        for (int oy = 0; oy < oh; oy++) {
            long r = (p * h + at + (long)oy * sy) * w + at;
            float *restrict row = dst + r;
            const float *restrict m = mask ? mask + r : 0;
            const float *restrict g = src + (p * oh + oy) * (long)ow;
            int ox = 0;
            if (sx == 2)
                for (; at + 2 * (ox + VL) <= w; ox += VL) {
                    v16 v = vld(g + ox), lo = ZIPLO(v, zero), hi = ZIPHI(v, zero);
                    if (m) {
                        lo = VMASK(lo, vld(m + 2 * ox) > zero);
                        hi = VMASK(hi, vld(m + 2 * ox + VL) > zero);
                    }
                    vst(row + 2 * ox, vld(row + 2 * ox) + lo);
                    vst(row + 2 * ox + VL, vld(row + 2 * ox + VL) + hi);
                }
            for (; ox < ow; ox++) {
                long i = (long)ox * sx;
                if (!m || m[i] > 0) row[i] += g[ox];
            }
        }
}

/* FactorizedReduce's input gradient written instead of added: for stride 2 on both axes and h, w
   even, the rows at, at + 2, ... of dst (planes, h, w) written whole: src's values (zero where
   mask <= 0) at the columns at, at + 2, ..., zeros between. The two halves (at 0 and 1) together
   write every element of dst once, so dst needs no clearing and is not read. */
CLONES void nsas_scatter_stride2_write(float *restrict dst, const float *restrict src, int planes, int h, int w, int at,
                                       const float *restrict mask) {
    v16 zero = vsplat(0);
    int oh = h / 2, ow = w / 2;
    for (long p = 0; p < planes; p++)
        for (int oy = 0; oy < oh; oy++) {
            long r = (p * h + at + 2L * oy) * w;
            float *restrict row = dst + r;
            const float *restrict m = mask ? mask + r : 0;
            const float *restrict g = src + (p * oh + oy) * (long)ow;
            int ox = 0;
            for (; 2 * (ox + VL) <= w; ox += VL) {
                v16 v = vld(g + ox);
                v16 lo = at ? ZIPLO(zero, v) : ZIPLO(v, zero), hi = at ? ZIPHI(zero, v) : ZIPHI(v, zero);
                if (m) {
                    lo = VMASK(lo, vld(m + 2 * ox) > zero);
                    hi = VMASK(hi, vld(m + 2 * ox + VL) > zero);
                }
                vst(row + 2 * ox, lo);
                vst(row + 2 * ox + VL, hi);
            }
            for (; ox < ow; ox++) {
                long i = 2L * ox + at;
                row[i] = !m || m[i] > 0 ? g[ox] : 0;
                row[2L * ox + 1 - at] = 0;
            }
        }
}
