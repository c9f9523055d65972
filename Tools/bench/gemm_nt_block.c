/* The register block of the 1x1-convolution weight-gradient kernel (nsas_gemm_nt_batched_add in
 * Sources/NSASKernels/gemm.c) for the AVX2 and AVX-512 builds on one machine: 4x4 against 2x2 outputs.
 *
 *   clang -O3 -fno-math-errno -march=x86-64-v3 Tools/bench/gemm_nt_block.c -o /tmp/nt-v3 && /tmp/nt-v3
 *   clang -O3 -fno-math-errno -march=x86-64-v4 -mprefer-vector-width=512 Tools/bench/gemm_nt_block.c -o /tmp/nt-v4 && /tmp/nt-v4
 * (without -mprefer-vector-width=512 clang builds 256-bit code for x86-64-v4, unlike the package's
 * AVX-512 clones: see Tools/bench/gemm_rows_block.c)
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
typedef float v16 __attribute__((vector_size(64), aligned(4)));
#define VL 16
#define vld(p) (*(const v16 *)(p))
#define vst(p, v) (*(v16 *)(p) = (v))
#define vsplat(a) ({ float s_ = (float)(a); (v16){s_, s_, s_, s_, s_, s_, s_, s_, s_, s_, s_, s_, s_, s_, s_, s_}; })
#define NT(B) \
static __attribute__((noinline)) void nt##B(float *scratch, const float *a, long a_step, const float *b, long b_step, int m, int n, long k, int count) { \
    for (int img = 0; img < count; img++) \
        for (int i0 = 0; i0 < m; i0 += B) for (int j0 = 0; j0 < n; j0 += B) { \
            const float *ai = a + img * a_step + (long)i0 * k, *bj = b + img * b_step + (long)j0 * k; \
            float *sums = scratch + ((long)i0 * n + (long)j0 * B) * VL; v16 acc[B][B]; \
            for (int i = 0; i < B; i++) for (int j = 0; j < B; j++) acc[i][j] = vld(sums + (i * B + j) * VL); \
            for (long p = 0; p < k; p += VL) { v16 av[B], bv[B]; \
                for (int i = 0; i < B; i++) av[i] = vld(ai + i * k + p); \
                for (int j = 0; j < B; j++) bv[j] = vld(bj + j * k + p); \
                for (int i = 0; i < B; i++) for (int j = 0; j < B; j++) acc[i][j] += av[i] * bv[j]; } \
            for (int i = 0; i < B; i++) for (int j = 0; j < B; j++) vst(sums + (i * B + j) * VL, acc[i][j]); } }
NT(4)
NT(2)
double now() { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
int main() {
    int shapes[][3] = {{16, 16, 1024}, {32, 32, 256}, {64, 64, 64}, {16, 48, 1024}};
    for (int s = 0; s < 4; s++) {
        int m = shapes[s][0], n = shapes[s][1]; long k = shapes[s][2]; int count = 8;
        float *a = aligned_alloc(64, sizeof(float) * m * k * count), *b = aligned_alloc(64, sizeof(float) * n * k * count), *sc = aligned_alloc(64, sizeof(float) * m * n * VL);
        for (long i = 0; i < m * k * count; i++) a[i] = i % 7; for (long i = 0; i < n * k * count; i++) b[i] = i % 5;
        double best[2] = {1e9, 1e9}; int reps = 200000000 / (m * n * k * count) + 1;
        for (int t = 0; t < 5; t++) {
            double t0 = now(); for (int r = 0; r < reps; r++) nt4(sc, a, m * k, b, n * k, m, n, k, count); double t1 = now();
            for (int r = 0; r < reps; r++) nt2(sc, a, m * k, b, n * k, m, n, k, count); double t2 = now();
            if (t1 - t0 < best[0]) best[0] = t1 - t0; if (t2 - t1 < best[1]) best[1] = t2 - t1;
        }
        double fl = 2.0 * m * n * k * count * reps / 1e9;
        printf("m %d n %d k %ld: 4x4 %.1f GFLOP/s, 2x2 %.1f\n", m, n, k, fl / best[0], fl / best[1]);
    }
}
