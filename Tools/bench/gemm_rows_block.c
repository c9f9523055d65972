/* The register block and loop order of the 1x1-convolution kernel (Sources/NSASKernels/gemm.c),
 * measured for the AVX2 and AVX-512 builds on one machine, on products streamed from memory as
 * in a training step (64 images, each product reading its own b and writing its own c), or
 * cache-resident with HOT defined (every image reads the same b and writes the same c):
 *   rows16  16 rows x 1 vector, rows first (the AVX-512 kernel before the column-first ones);
 *   rows4   4 x 1, rows first (the AVX2 kernel before h4x3);
 *   c4x2    4 rows x 2 vectors, columns first with every row block on a column block, b
 *           prefetched 128 floats ahead (the AVX-512 kernel where m % 8 == 4);
 *   c8x2    the same with 8 rows (the AVX-512 kernel where m % 8 == 0); c4x4, c2x2, c4x1 likewise;
 *   h4x3    4 rows x 3 8-float vectors, rows first (the AVX2 kernel where b needs no ReLU);
 *   h4x2    4 rows x 2 8-float vectors (the same sums as rows4).
 *
 * -mprefer-vector-width=512 matters: with -march=x86-64-v4 alone clang splits each 16-float
 * vector into two 256-bit halves (its tuning prefers 256-bit vectors), while the package's
 * AVX-512 clones (target_clones) use 512-bit registers. Figures measured without it (before
 * 2026-12-01's last session) were of 256-bit code.
 *
 *   clang -O3 -march=x86-64-v3 Tools/bench/gemm_rows_block.c -o /tmp/rows-v3 && /tmp/rows-v3
 *   clang -O3 -march=x86-64-v4 -mprefer-vector-width=512 Tools/bench/gemm_rows_block.c -o /tmp/rows-v4 && /tmp/rows-v4
 *   (add -DHOT for the cache-resident figures)
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
typedef float v16 __attribute__((vector_size(64), aligned(4)));
#define VL 16
#define vld(p) (*(const v16 *)(p))
#define vst(p, v) (*(v16 *)(p) = (v))
#define vsplat(a) ({ float s_ = (float)(a); (v16){s_, s_, s_, s_, s_, s_, s_, s_, s_, s_, s_, s_, s_, s_, s_, s_}; })
#define BLOCK(R, V, pf) { v16 acc[R][V]; const float *arow = a + (long)m0 * sam; \
    for (int j = 0; j < R; j++) for (int v = 0; v < V; v++) acc[j][v] = vsplat(0); \
    for (int q = 0; q < k; q++) { v16 bv[V]; for (int v = 0; v < V; v++) bv[v] = vld(b + (long)q * n + p + v * VL); \
        if (pf) for (int v = 0; v < V; v++) __builtin_prefetch(b + (long)q * n + p + 128 + v * VL); \
        const float *aq = arow + (long)q * sak; \
        for (int j = 0; j < R; j++) { float s = aq[(long)j * sam]; for (int v = 0; v < V; v++) acc[j][v] += s * bv[v]; } } \
    for (int j = 0; j < R; j++) for (int v = 0; v < V; v++) vst(c + (long)(m0 + j) * n + p + v * VL, acc[j][v]); }
#define ROWS_FIRST(R) static __attribute__((noinline)) void rows##R(float *c, const float *a, long sam, long sak, const float *b, int m, int k, long n) { \
    for (int m0 = 0; m0 < m; m0 += R) for (long p = 0; p < n; p += VL) BLOCK(R, 1, 0) }
#define COLS_FIRST(R, V) static __attribute__((noinline)) void c##R##x##V(float *c, const float *a, long sam, long sak, const float *b, int m, int k, long n) { \
    for (long p = 0; p < n; p += V * VL) for (int m0 = 0; m0 < m; m0 += R) BLOCK(R, V, m0 == 0 && p + 128 < n) }
ROWS_FIRST(16)
ROWS_FIRST(4)
COLS_FIRST(4, 2)
COLS_FIRST(8, 2)
COLS_FIRST(4, 4)
COLS_FIRST(2, 2)
COLS_FIRST(4, 1)
/* 8-float vectors (AVX2 registers): h4x3 is the AVX2 kernel now (4 rows x 3 vectors, the last 16
   or 8 columns of a row in 4 x 2 or 4 x 1), h4x2 the same sums as rows4 in 8-float vectors. */
typedef float v8 __attribute__((vector_size(32), aligned(4)));
#define HBLOCK(R, V) { v8 acc[R][V]; const float *arow = a + (long)m0 * sam; \
    for (int j = 0; j < R; j++) for (int v = 0; v < V; v++) acc[j][v] = (v8){0}; \
    for (int q = 0; q < k; q++) { v8 bv[V]; for (int v = 0; v < V; v++) bv[v] = *(const v8 *)(b + (long)q * n + p + v * 8); \
        const float *aq = arow + (long)q * sak; \
        for (int j = 0; j < R; j++) { float s = aq[(long)j * sam]; for (int v = 0; v < V; v++) acc[j][v] += s * bv[v]; } } \
    for (int j = 0; j < R; j++) for (int v = 0; v < V; v++) *(v8 *)(c + (long)(m0 + j) * n + p + v * 8) = acc[j][v]; }
static __attribute__((noinline)) void h4x3(float *c, const float *a, long sam, long sak, const float *b, int m, int k, long n) {
    for (int m0 = 0; m0 < m; m0 += 4) {
        long p = 0;
        for (; p + 24 <= n; p += 24) HBLOCK(4, 3)
        for (; p + 16 <= n; p += 16) HBLOCK(4, 2)
        if (n - p == 8) HBLOCK(4, 1)
    }
}
static __attribute__((noinline)) void h4x2(float *c, const float *a, long sam, long sak, const float *b, int m, int k, long n) {
    for (int m0 = 0; m0 < m; m0 += 4) for (long p = 0; p < n; p += 16) HBLOCK(4, 2)
}
typedef void (*kernel)(float *, const float *, long, long, const float *, int, int, long);
double now() { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
int main() {
    /* (m, k, n) of the C=16 search network's 1x1 products per image: edges and preprocessing per stage */
    int shapes[][3] = {{16, 16, 1024}, {16, 64, 1024}, {32, 32, 256}, {32, 128, 256}, {64, 64, 64}, {64, 256, 64}};
    kernel f[] = {rows16, rows4, c4x2, c8x2, c4x4, c2x2, c4x1, h4x2, h4x3};
    const char *names[] = {"rows16", "rows4", "c4x2", "c8x2", "c4x4", "c2x2", "c4x1", "h4x2", "h4x3"};
    int kernels = 9, images = 64;
    for (int s = 0; s < 6; s++) {
        int m = shapes[s][0], k = shapes[s][1]; long n = shapes[s][2];
        float *a = aligned_alloc(64, sizeof(float) * m * k), *b = aligned_alloc(64, sizeof(float) * k * n * images);
        float *c = aligned_alloc(64, sizeof(float) * m * n * images);
        for (long i = 0; i < m * k; i++) a[i] = i % 7;
        for (long i = 0; i < k * n * images; i++) b[i] = i % 5;
        for (long i = 0; i < m * n * images; i++) c[i] = 0;
        double best[9] = {1e9, 1e9, 1e9, 1e9, 1e9, 1e9, 1e9, 1e9, 1e9};
        for (int t = 0; t < 7; t++)
            for (int i = 0; i < kernels; i++) {
                double t0 = now();
#ifdef HOT
                for (int r = 0; r < images; r++) f[i](c, a, k, 1, b, m, k, n);
#else
                for (int r = 0; r < images; r++) f[i](c + (long)r * m * n, a, k, 1, b + (long)r * k * n, m, k, n);
#endif
                double d = now() - t0;
                if (d < best[i]) best[i] = d;
            }
        double gflop = 2.0 * m * k * n * images / 1e9;
        printf("m %2d k %3d n %4ld:", m, k, n);
        for (int i = 0; i < kernels; i++) printf(" %s %5.1f", names[i], gflop / best[i]);
        printf(" GFLOP/s\n");
        free(a); free(b); free(c);
    }
}
