/* Both gradients of a 1x1 convolution over a batch, as a training step runs them: the input
 * gradient (ReLU mask on) and then the weight gradient, each a pass over the batch
 * (nsas_gemm_rows16_mask, nsas_gemm_nt_batched_add), against nsas_conv1x1_backward, which runs
 * the two image by image. One thread, 64 images, best of 9 runs of 5 calls, ms; each call on
 * another of 8 sets of buffers (96 MB at C 16, 32x32), so that the data come from beyond the
 * core's caches as in a training step.
 *
 *   K=Sources/NSASKernels; clang -O3 -fno-math-errno -I$K/include -c $K/gemm.c -o /tmp/gemm.o
 *   clang -O3 -I$K/include Tools/bench/conv1x1_backward.c /tmp/gemm.o -o /tmp/conv1x1_backward
 *   for a in "16 16 32" "16 16 28" "32 32 16" "64 64 8" "64 16 32"; do /tmp/conv1x1_backward $a; done
 *   # cin, cout, plane size (its square % 16 == 0)
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "nsas_kernels.h"

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }

static float *randoms(long n) {
    float *p = malloc(sizeof(float) * n);
    for (long i = 0; i < n; i++) p[i] = (float)rand() / 2147483648.0f - 0.5f;
    return p;
}

int main(int argc, char **argv) {
    if (argc != 4) { fprintf(stderr, "usage: conv1x1_backward CIN COUT SIZE\n"); return 2; }
    int cin = atoi(argv[1]), cout = atoi(argv[2]), size = atoi(argv[3]), n = 64;
    long hw = (long)size * size;
    if (cin % 16 || cout % 4 || hw % 16) { fprintf(stderr, "needs cin %% 16, cout %% 4, size^2 %% 16 == 0\n"); return 2; }
    float *xs[8], *dys[8], *dxs[8]; for (int s = 0; s < 8; s++) { xs[s] = randoms(n * cin * hw); dys[s] = randoms(n * cout * hw); dxs[s] = randoms(n * cin * hw); }
    float *x = xs[0], *dy = dys[0], *w = randoms(cin * cout);
    float *dx = randoms(n * cin * hw), *dw = calloc(cin * cout, sizeof(float));
    float *scratch = malloc(sizeof(float) * cin * cout * 16);
    double apart = 1e9, together = 1e9;
    for (int rep = 0; rep < 9; rep++) {
        double t0 = now();
        for (int r = 0; r < 5; r++) {
            x = xs[r]; dy = dys[r]; dx = dxs[r];
            for (int i = 0; i < n; i++)
                nsas_gemm_rows16_mask(dx + i * cin * hw, w, 1, cin, dy + i * cout * hw, cin, cout, hw, x + i * cin * hw, 0);
            nsas_gemm_nt_batched_add(dw, scratch, dy, cout * hw, x, cin * hw, cout, cin, hw, n, 1);
        }
        double t1 = now();
        for (int r = 0; r < 5; r++) { x = xs[r + 3 & 7]; dy = dys[r + 3 & 7]; dx = dxs[r + 3 & 7]; nsas_conv1x1_backward(dx, dw, scratch, dy, w, x, cout, cin, hw, n, 1, 0); }
        double t2 = now();
        if (t1 - t0 < apart) apart = t1 - t0;
        if (t2 - t1 < together) together = t2 - t1;
    }
    printf("cin %3d cout %3d %2dx%-2d: apart %.3f ms, together %.3f ms (%.2fx)\n", cin, cout, size, size,
           apart / 5 * 1e3, together / 5 * 1e3, apart / together);
    return 0;
}
