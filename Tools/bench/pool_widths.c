/* The 3x3 pool kernels of Sources/NSASKernels on one plane size and stride, 1024 planes (64
 * images x 16 channels), best of 9 runs of 5 calls each: max and average, forward and backward.
 * Build it against the kernels of any checkout to compare two versions:
 *
 *   K=Sources/NSASKernels; for f in pooling pooling_direct; do
 *     clang -O3 -fno-math-errno -I$K/include -c $K/$f.c -o /tmp/$f.o; done
 *   clang -O3 -I$K/include Tools/bench/pool_widths.c /tmp/pooling.o /tmp/pooling_direct.o -o /tmp/pool_widths
 *   for a in "28 1" "28 2" "14 1" "14 2" "7 1" "32 1"; do /tmp/pool_widths $a; done   # size, stride
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "nsas_kernels.h"

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }

int main(int argc, char **argv) {
    if (argc != 3) { fprintf(stderr, "usage: pool_widths SIZE STRIDE\n"); return 2; }
    int h = atoi(argv[1]), st = atoi(argv[2]), planes = 64 * 16, oh = (h - 1) / st + 1;
    long n = (long)h * h, m = (long)oh * oh;
    float *x = malloc(sizeof(float) * n * planes), *dx = malloc(sizeof(float) * n * planes);
    float *y = malloc(sizeof(float) * m * planes), *dy = malloc(sizeof(float) * m * planes);
    for (long i = 0; i < n * planes; i++) { x[i] = (float)rand() / 2147483648.0f - 0.5f; dx[i] = 0; }
    for (long i = 0; i < m * planes; i++) dy[i] = (float)rand() / 2147483648.0f - 0.5f;
    float *scratch = malloc(sizeof(float) * nsas_pool3_scratch(h, h));
    double best[4] = {1e9, 1e9, 1e9, 1e9};
    for (int rep = 0; rep < 9; rep++) {
        double t[5];
        t[0] = now();
        for (int r = 0; r < 5; r++) nsas_pool3_max_forward(y, x, scratch, planes, h, h, oh, oh, st);
        t[1] = now();
        for (int r = 0; r < 5; r++) nsas_pool3_avg_forward(y, x, scratch, planes, h, h, oh, oh, st);
        t[2] = now();
        for (int r = 0; r < 5; r++) nsas_pool3_max_backward_add(dx, dy, x, scratch, planes, h, h, oh, oh, st);
        t[3] = now();
        for (int r = 0; r < 5; r++) nsas_pool3_avg_backward_add(dx, dy, scratch, planes, h, h, oh, oh, st);
        t[4] = now();
        for (int i = 0; i < 4; i++) if (t[i + 1] - t[i] < best[i]) best[i] = t[i + 1] - t[i];
    }
    printf("%2dx%-2d stride %d: max forward %.3f ms, average forward %.3f ms, max backward %.3f ms, average backward %.3f ms\n",
           h, h, st, best[0] / 5 * 1e3, best[1] / 5 * 1e3, best[2] / 5 * 1e3, best[3] / 5 * 1e3);
    return dx[0] != dx[0];
}
