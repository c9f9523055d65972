/* The register block of the 1x1-convolution kernel (Sources/NSASKernels/gemm.c), measured for
 * the AVX2 and AVX-512 builds on one machine: the same loop as the kernel with 16, 8 and 4 output
 * rows in registers.
 *
 *   for a in x86-64-v3 x86-64-v4; do clang -O3 -fno-math-errno -march=$a Tools/bench/gemm_rows_block.c -o /tmp/rows-$a && /tmp/rows-$a; done
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
typedef float v16 __attribute__((vector_size(64), aligned(4)));
#define VL 16
#define vld(p) (*(const v16 *)(p))
#define vst(p, v) (*(v16 *)(p) = (v))
#define vsplat(a) ({ float s_ = (float)(a); (v16){s_, s_, s_, s_, s_, s_, s_, s_, s_, s_, s_, s_, s_, s_, s_, s_}; })
#define BODY(R) \
static __attribute__((noinline)) void rows##R(float *c, const float *a, long sam, long sak, const float *b, int m, int k, long n) { \
    for (int m0 = 0; m0 < m; m0 += R) { const float *arow = a + (long)m0 * sam; \
        for (long p = 0; p < n; p += VL) { v16 acc[R]; \
            for (int j = 0; j < R; j++) acc[j] = vsplat(0); \
            for (int q = 0; q < k; q++) { v16 bv = vld(b + (long)q * n + p); const float *aq = arow + (long)q * sak; \
                for (int j = 0; j < R; j++) acc[j] += aq[(long)j * sam] * bv; } \
            for (int j = 0; j < R; j++) vst(c + (long)(m0 + j) * n + p, acc[j]); } } }
BODY(16)
BODY(8)
BODY(4)
double now() { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
int main() {
    int shapes[][3] = {{16, 16, 1024}, {32, 32, 256}, {64, 64, 64}, {16, 48, 1024}, {64, 256, 64}};
    for (int s = 0; s < 5; s++) {
        int m = shapes[s][0], k = shapes[s][1]; long n = shapes[s][2];
        float *a = aligned_alloc(64, sizeof(float) * m * k), *b = aligned_alloc(64, sizeof(float) * k * n), *c = aligned_alloc(64, sizeof(float) * m * n);
        for (long i = 0; i < m * k; i++) a[i] = i % 7; for (long i = 0; i < k * n; i++) b[i] = i % 5;
        double best[3] = {1e9, 1e9, 1e9}; int reps = 200000000 / (m * k * n) + 1;
        for (int t = 0; t < 5; t++) {
            double t0 = now(); for (int r = 0; r < reps; r++) rows16(c, a, k, 1, b, m, k, n); double t1 = now();
            for (int r = 0; r < reps; r++) rows8(c, a, k, 1, b, m, k, n); double t2 = now();
            for (int r = 0; r < reps; r++) rows4(c, a, k, 1, b, m, k, n); double t3 = now();
            if (t1 - t0 < best[0]) best[0] = t1 - t0; if (t2 - t1 < best[1]) best[1] = t2 - t1; if (t3 - t2 < best[2]) best[2] = t3 - t2;
        }
        double fl = 2.0 * m * k * n * reps / 1e9;
        printf("m %d k %d n %ld: rows16 %.1f GFLOP/s, rows8 %.1f, rows4 %.1f\n", m, k, n, fl / best[0], fl / best[1], fl / best[2]);
    }
}
