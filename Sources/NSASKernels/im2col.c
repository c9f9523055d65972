/* The im2col and col2im of a general convolution (the dense 3x3 convolutions of NAS-Bench-201's
   cells and residual blocks, the stems): col (planes*kh*kw, oh, ow) from x (planes, h, w) with
   stride, padding and dilation, relu'd when asked; and its adjoint, dx += col2im(col), only where
   x > 0 when relu. Per output row the columns whose input lies inside the image are one range,
   found once, so the inner loops have no bounds tests and vectorise (a contiguous copy at
   stride 1). */
#include "kernels_internal.h"

/* The range [lo, hi) of output columns ox whose input column ox*s + off lies in [0, w). */
static inline void valid_range(int ow, int w, int s, int off, int *lo, int *hi) {
    int a = off >= 0 ? 0 : (-off + s - 1) / s;
    int b = w - off <= 0 ? 0 : (w - off - 1) / s + 1;
    if (b > ow) b = ow;
    if (a > b) a = b;
    *lo = a; *hi = b;
}

CLONES void nsas_im2col(float *restrict col, const float *restrict x, int planes, int h, int w, int kh, int kw,
                        int sy, int sx, int py, int px, int dy, int dx, int oh, int ow, int relu) {
    long row = 0;
    for (long p = 0; p < planes; p++) {
        const float *plane = x + p * h * (long)w;
        for (int ky = 0; ky < kh; ky++)
            for (int kx = 0; kx < kw; kx++, row++) {
                float *restrict dst = col + row * oh * (long)ow;
                int off = kx * dx - px, lo, hi;
                valid_range(ow, w, sx, off, &lo, &hi);
                for (int oy = 0; oy < oh; oy++) {
                    float *restrict d = dst + (long)oy * ow;
                    int iy = oy * sy - py + ky * dy;
                    if (iy < 0 || iy >= h) { memset(d, 0, sizeof(float) * (size_t)ow); continue; }
                    for (int ox = 0; ox < lo; ox++) d[ox] = 0;
                    for (int ox = hi; ox < ow; ox++) d[ox] = 0;
                    if (hi <= lo) continue;
                    /* The input row from column lo's tap on (pointers stay inside the image). */
                    const float *restrict src = plane + (long)iy * w + ((long)lo * sx + off);
                    if (sx == 1) {
                        if (relu) for (int ox = lo; ox < hi; ox++) { float v = src[ox - lo]; d[ox] = v > 0 ? v : 0; }
                        else memcpy(d + lo, src, sizeof(float) * (size_t)(hi - lo));
                    } else {
                        for (int ox = lo; ox < hi; ox++) { float v = src[(long)(ox - lo) * sx]; d[ox] = relu && !(v > 0) ? 0 : v; }
                    }
                }
            }
    }
}

CLONES void nsas_col2im_add(float *restrict dxp, const float *restrict col, const float *restrict x, int planes, int h, int w,
                            int kh, int kw, int sy, int sx, int py, int px, int dy, int dx, int oh, int ow, int relu) {
    long row = 0;
    for (long p = 0; p < planes; p++) {
        float *plane = dxp + p * h * (long)w;
        const float *xplane = x + p * h * (long)w;
        for (int ky = 0; ky < kh; ky++)
            for (int kx = 0; kx < kw; kx++, row++) {
                const float *restrict srcRow = col + row * oh * (long)ow;
                int off = kx * dx - px, lo, hi;
                valid_range(ow, w, sx, off, &lo, &hi);
                for (int oy = 0; oy < oh; oy++) {
                    int iy = oy * sy - py + ky * dy;
                    if (iy < 0 || iy >= h) continue;
                    if (hi <= lo) continue;
                    long first = (long)iy * w + (long)lo * sx + off;   /* column lo's tap, inside the image */
                    float *restrict d = plane + first;
                    const float *restrict xr = xplane + first;
                    const float *restrict s = srcRow + (long)oy * ow + lo;
                    int n = hi - lo;
                    if (sx == 1) {
                        if (relu) for (int i = 0; i < n; i++) d[i] += xr[i] > 0 ? s[i] : 0;
                        else for (int i = 0; i < n; i++) d[i] += s[i];
                    } else {
                        for (int i = 0; i < n; i++) {
                            long j = (long)i * sx;
                            if (!relu || xr[j] > 0) d[j] += s[i];
                        }
                    }
                }
            }
    }
}
