/* A depthwise 3x3 convolution (ReLU on its input) followed by a 1x1 convolution of its output,
 * the core of DARTS's SepConv and DilConv, over 64 images of C channels: the two convolutions one
 * after the other over the batch (as before depthwisePointwise); image by image, each image's
 * depthwise output written to the batch buffer and read back from cache (training, which keeps it
 * for the gradients); and image by image into one image-sized buffer (inference). One thread,
 * best of 9 runs of 5 calls, ms.
 *
 *   K=Sources/NSASKernels; for f in gemm depthwise depthwise_direct; do
 *     clang -O3 -fno-math-errno -I$K/include -c $K/$f.c -o /tmp/$f.o; done
 *   clang -O3 -I$K/include Tools/bench/dw_pw_images.c /tmp/gemm.o /tmp/depthwise.o /tmp/depthwise_direct.o -o /tmp/dw_pw_images
 *   for a in "16 32" "16 28" "32 16" "64 8"; do /tmp/dw_pw_images $a; done   # C, plane size
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "nsas_kernels.h"
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
static float *randoms(long n) { float *p = malloc(sizeof(float) * n); for (long i = 0; i < n; i++) p[i] = (float)rand() / 2147483648.0f - 0.5f; return p; }
int main(int argc, char **argv) {
    if (argc != 3) { fprintf(stderr, "usage: dw_pw_images C SIZE\n"); return 2; }
    int c = atoi(argv[1]), s = atoi(argv[2]), n = 64, k = 3; long hw = (long)s * s;
    float *x = randoms(n * c * hw), *t = randoms(n * c * hw), *y = randoms(n * c * hw), *tl = randoms(c * hw);
    float *wd = randoms(c * 9), *wp = randoms(c * c);
    float *scratch = malloc(sizeof(float) * nsas_dw_scratch(s, s, k, 1, 1));
    double a = 1e9, b = 1e9, d = 1e9;
    for (int rep = 0; rep < 9; rep++) {
        double t0 = now();
        for (int r = 0; r < 5; r++) {
            nsas_dw_forward_planes(t, x, wd, scratch, 0, n * c, c, s, s, s, s, k, 1, 1, 1, 1);
            for (int i = 0; i < n; i++) nsas_gemm_rows16_affine(y + i * c * hw, wp, c, 1, t + i * c * hw, c, c, hw, 0, 0, 0, 0);
        }
        double t1 = now();
        for (int r = 0; r < 5; r++)
            for (int i = 0; i < n; i++) {
                nsas_dw_forward_planes(t, x, wd, scratch, (long)i * c, c, c, s, s, s, s, k, 1, 1, 1, 1);
                nsas_gemm_rows16_affine(y + i * c * hw, wp, c, 1, t + i * c * hw, c, c, hw, 0, 0, 0, 0);
            }
        double t2 = now();
        for (int r = 0; r < 5; r++)
            for (int i = 0; i < n; i++) {   /* inference: the intermediate in one image-sized buffer */
                nsas_dw_forward_planes(tl, x + (long)i * c * hw, wd, scratch, 0, c, c, s, s, s, s, k, 1, 1, 1, 1);
                nsas_gemm_rows16_affine(y + i * c * hw, wp, c, 1, tl, c, c, hw, 0, 0, 0, 0);
            }
        double t3 = now();
        if (t1 - t0 < a) a = t1 - t0; if (t2 - t1 < b) b = t2 - t1; if (t3 - t2 < d) d = t3 - t2;
    }
    printf("C %d %dx%d: apart %.3f ms, per image %.3f (%.2fx), per image into one buffer %.3f (%.2fx)\n", c, s, s, a / 5e-3, b / 5e-3, a / b, d / 5e-3, a / d);
}
