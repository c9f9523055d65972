/* The depthwise kernels of Sources/NSASKernels on one plane size and stride (1 unless given),
 * 1024 planes (64 images x 16 channels), best of 9 runs of 5 calls each: the weight gradient through the planes entry (the
 * direct row kernel where the plane is at most 32 wide) and plane by plane through the padded
 * "wide" kernel, the forward and the input gradient (ReLU mask on) through the planes entries.
 * Build it against the kernels of any checkout to compare two versions:
 *
 *   K=Sources/NSASKernels; for f in depthwise depthwise_direct; do
 *     clang -O3 -fno-math-errno -I$K/include -c $K/$f.c -o /tmp/$f.o; done
 *   (nsas_dw_backward_data_planes takes `accumulate` from 2026-12-01 on: older checkouts name it _add, without it)
 *   clang -O3 -I$K/include Tools/bench/dw_widths.c /tmp/depthwise.o /tmp/depthwise_direct.o -o /tmp/dw_widths
 *   for a in "28 3 1" "28 5 2" "14 3 1" "7 5 2" "8 3 1" "32 3 1" "28 3 1 2"; do /tmp/dw_widths $a; done
 *   # size, kernel, dilation [, stride]
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "nsas_kernels.h"

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }

int main(int argc, char **argv) {
    if (argc != 4 && argc != 5) { fprintf(stderr, "usage: dw_widths SIZE KERNEL DILATION [STRIDE]\n"); return 2; }
    int h = atoi(argv[1]), k = atoi(argv[2]), dil = atoi(argv[3]), st = argc == 5 ? atoi(argv[4]) : 1;
    int channels = 16, planes = 64 * channels, pad = dil * (k - 1) / 2, oh = (h - 1) / st + 1;
    long n = (long)h * h, m = (long)oh * oh;
    float *x = malloc(sizeof(float) * n * planes), *dy = malloc(sizeof(float) * n * planes), *y = malloc(sizeof(float) * n * planes);
    for (long i = 0; i < n * planes; i++) { x[i] = (float)rand() / 2147483648.0f - 0.5f; dy[i] = (float)rand() / 2147483648.0f - 0.5f; }
    float w[16 * 25], dw[25] = {0};
    for (int i = 0; i < channels * 25; i++) w[i] = 0.01f * (i % 25);
    float *scratch = malloc(sizeof(float) * nsas_dw_scratch(h, h, k, pad, dil));
    double best[4] = {1e9, 1e9, 1e9, 1e9};
    for (int rep = 0; rep < 9; rep++) {
        double t[5];
        t[0] = now();
        for (int r = 0; r < 5; r++) nsas_dw_backward_weight_planes_add(dw, x, dy, scratch, planes, n, m, h, h, oh, oh, k, st, pad, dil, 1);
        t[1] = now();
        for (int r = 0; r < 5; r++)
            for (int p = 0; p < planes; p++) nsas_dw_backward_weight_add(dw, x + p * n, dy + p * m, scratch, h, h, oh, oh, k, st, pad, dil, 1);
        t[2] = now();
        for (int r = 0; r < 5; r++) nsas_dw_forward_planes(y, x, w, scratch, 0, planes, channels, h, h, oh, oh, k, st, pad, dil, 1);
        t[3] = now();
        for (int r = 0; r < 5; r++) nsas_dw_backward_data_planes(x, dy, w, scratch, 0, planes, channels, h, h, oh, oh, k, st, pad, dil, y, 1);
        t[4] = now();
        for (int i = 0; i < 4; i++) if (t[i + 1] - t[i] < best[i]) best[i] = t[i + 1] - t[i];
    }
    printf("%2dx%-2d k %d dil %d stride %d: weight gradient %.3f ms (wide kernel %.3f ms), forward %.3f ms, input gradient %.3f ms\n",
           h, h, k, dil, st, best[0] / 5 * 1e3, best[1] / 5 * 1e3, best[2] / 5 * 1e3, best[3] / 5 * 1e3);
    return dw[0] != dw[0];   /* keep the sums alive */
}
