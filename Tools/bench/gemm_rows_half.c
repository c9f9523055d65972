/* The AVX2 1x1-convolution kernel's register block (gemm_rows_narrow in Sources/NSASKernels/gemm.c)
 * in 8-float vectors, on products streamed from memory as in a training step (64 images): 4 rows x
 * 2 vectors rows first (the same sums as the former 4 rows x one 16-float vector), 4 x 3 rows first
 * (the kernel now, where b needs no ReLU) and columns first, 8 x 1, 2 x 6. Plane widths are
 * multiples of 48 so that every block fits without a tail.
 *
 *   clang -O3 -march=x86-64-v3 Tools/bench/gemm_rows_half.c -o /tmp/rows-half && /tmp/rows-half
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
typedef float v8 __attribute__((vector_size(32), aligned(4)));
#define VL 8
#define vld(p) (*(const v8 *)(p))
#define vst(p, v) (*(v8 *)(p) = (v))
#define BLOCK(R, V) { v8 acc[R][V]; const float *arow = a + (long)m0 * sam; \
    for (int j = 0; j < R; j++) for (int v = 0; v < V; v++) acc[j][v] = (v8){0}; \
    for (int q = 0; q < k; q++) { v8 bv[V]; for (int v = 0; v < V; v++) bv[v] = vld(b + (long)q * n + p + v * VL); \
        const float *aq = arow + (long)q * sak; \
        for (int j = 0; j < R; j++) { float s = aq[(long)j * sam]; for (int v = 0; v < V; v++) acc[j][v] += s * bv[v]; } } \
    for (int j = 0; j < R; j++) for (int v = 0; v < V; v++) vst(c + (long)(m0 + j) * n + p + v * VL, acc[j][v]); }
#define ROWS_FIRST(R, V) static __attribute__((noinline)) void r##R##x##V(float *c, const float *a, long sam, long sak, const float *b, int m, int k, long n) { \
    for (int m0 = 0; m0 < m; m0 += R) for (long p = 0; p + V * VL <= n; p += V * VL) BLOCK(R, V) }
#define COLS_FIRST(R, V) static __attribute__((noinline)) void c##R##x##V(float *c, const float *a, long sam, long sak, const float *b, int m, int k, long n) { \
    for (long p = 0; p + V * VL <= n; p += V * VL) for (int m0 = 0; m0 < m; m0 += R) BLOCK(R, V) }
ROWS_FIRST(4, 2)
ROWS_FIRST(4, 3)
COLS_FIRST(4, 3)
ROWS_FIRST(8, 1)
COLS_FIRST(2, 6)
typedef void (*kernel)(float *, const float *, long, long, const float *, int, int, long);
double now() { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
int main() {
    int shapes[][3] = {{16, 16, 960}, {16, 64, 960}, {32, 32, 240}, {32, 128, 240}, {64, 64, 48}, {64, 256, 48}};
    kernel f[] = {r4x2, r4x3, c4x3, r8x1, c2x6};
    const char *names[] = {"r4x2(before)", "r4x3(now)", "c4x3", "r8x1", "c2x6"};
    int kernels = 5, images = 64;
    for (int s = 0; s < 6; s++) {
        int m = shapes[s][0], k = shapes[s][1]; long n = shapes[s][2];
        float *a = aligned_alloc(64, sizeof(float) * m * k), *b = aligned_alloc(64, sizeof(float) * k * n * images);
        float *c = aligned_alloc(64, sizeof(float) * m * n * images);
        for (long i = 0; i < m * k; i++) a[i] = i % 7;
        for (long i = 0; i < k * n * images; i++) b[i] = i % 5;
        double best[5] = {1e9, 1e9, 1e9, 1e9, 1e9};
        for (int t = 0; t < 7; t++)
            for (int i = 0; i < kernels; i++) {
                double t0 = now();
                for (int r = 0; r < images; r++) f[i](c + (long)r * m * n, a, k, 1, b + (long)r * k * n, m, k, n);
                double d = now() - t0; if (d < best[i]) best[i] = d;
            }
        double gflop = 2.0 * m * k * n * images / 1e9;
        printf("m %2d k %3d n %4ld:", m, k, n);
        for (int i = 0; i < kernels; i++) printf(" %s %5.1f", names[i], gflop / best[i]);
        printf("\n"); free(a); free(b); free(c);
    }
}
