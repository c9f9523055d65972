/* 3x3 max and average pooling (padding 1, average not counting padding): the public entry points
   and the wide kernels for planes the direct kernels (pooling_direct.c) do not take. */
#include "kernels_internal.h"
#include <string.h>

/* 3x3 pools, padding 1: wide layout with wp = w + 2; up to eight wide buffers with slack. */
static inline long pool_buf(wide_t s) { return (long)s.hp * s.wp + slack(s, 3, 1); }
long nsas_pool3_scratch(int h, int wd) { return 8 * pool_buf(wide_sizes(h, wd, 3, 1, 1)); }

CLONES static void wide_max3(float *restrict r, const float *restrict x, long step, long n) {
    for (long i = 0; i < n; i++) {
        float a = x[i] > x[i + step] ? x[i] : x[i + step];
        r[i] = a > x[i + 2 * step] ? a : x[i + 2 * step];
    }
}
CLONES static void wide_sum3(float *restrict r, const float *restrict x, long step, long n) {
    for (long i = 0; i < n; i++) r[i] = x[i] + x[i + step] + x[i + 2 * step];
}


/* yw = max or sum over each 3x3 window of xp (padded with -inf or 0), separably. */
CLONES static void pool3_wide(int is_max, float *yw, float *r, float *xp, const float *x, wide_t s, int h, int wd) {
    pad_plane(xp, x, h, wd, 1, is_max ? -__builtin_inff() : 0, 0);
    long rowspan = (long)(s.hp - 1) * s.wp + s.ow1;        /* row pass over every padded row */
    if (is_max) { wide_max3(r, xp, 1, rowspan); wide_max3(yw, r, s.wp, s.span); }
    else { wide_sum3(r, xp, 1, rowspan); wide_sum3(yw, r, s.wp, s.span); }
}

CLONES static void pool3_forward(int is_max, float *y, const float *x, float *scratch, int h, int wd, int oh, int ow, int stride) {
    wide_t s = wide_sizes(h, wd, 3, 1, 1);
    long buf = pool_buf(s);
    float *xp = scratch, *r = xp + buf, *yw = r + buf, *inv_cols = yw + buf;
    pool3_wide(is_max, yw, r, xp, x, s, h, wd);
    gather_strided(y, yw, s.wp, oh, ow, stride);
    if (!is_max) {
        for (int ox = 0; ox < ow; ox++) inv_cols[ox] = 1.0f / taps3(ox * stride, wd);
        for (int oy = 0; oy < oh; oy++) {
            float inv_rows = 1.0f / taps3(oy * stride, h);
            float *yr = y + (long)oy * ow;
            for (int ox = 0; ox < ow; ox++) yr[ox] *= inv_rows * inv_cols[ox];
        }
    }
}

CLONES static void wide_pool3_max_forward(float *y, const float *x, float *scratch, int h, int wd, int oh, int ow, int stride) {
    pool3_forward(1, y, x, scratch, h, wd, oh, ow, stride);
}
CLONES static void wide_pool3_avg_forward(float *y, const float *x, float *scratch, int h, int wd, int oh, int ow, int stride) {
    pool3_forward(0, y, x, scratch, h, wd, oh, ow, stride);
}

/* win[i] = the first k in 0..2 with v[i + k*step] == m[i]: which of the three rows (step wp)
   or columns (step 1) of a window holds its maximum first. */
CLONES static void first_of3(float *restrict win, const float *restrict v, const float *restrict m, long step, long n) {
    for (long i = 0; i < n; i += VL) {
        v16 mv = vld(m + i), w = vsplat(2);
        i16 e1 = vld(v + i + step) == mv, e0 = vld(v + i) == mv;
        w = (v16)((e1 & (i16)vsplat(1)) | (~e1 & (i16)w));
        w = (v16)((e0 & (i16)vsplat(0)) | (~e0 & (i16)w));
        vst(win + i, w);
    }
}

/* out[j] = sum_k g[j - k*step] where win[j - k*step] == k, k = 0..2: the gradient routed back
   through one max-of-three stage, as a gather. g and win are read at j - 2*step >= their start. */
CLONES static void route3(float *restrict out, const float *restrict g, const float *restrict win, long step, long n) {
    for (long j = 0; j < n; j += VL) {
        v16 acc = (v16)((i16)vld(g + j) & (vld(win + j) == vsplat(0)));
        acc += (v16)((i16)vld(g + j - step) & (vld(win + j - step) == vsplat(1)));
        acc += (v16)((i16)vld(g + j - 2 * step) & (vld(win + j - 2 * step) == vsplat(2)));
        vst(out + j, acc);
    }
}

/* Max pooling's backward pass, separably: the 3x3 maximum is the maximum over three rows of
   the row maxima, and the first maximal tap in row-major order is the first row holding the
   maximum, then the first column of that row holding it. So the gradient goes back through the
   column stage (to the row maxima) and then the row stage (to the inputs), three taps each. */
CLONES static void wide_pool3_max_backward_add(float *dx, const float *dy, const float *x, float *scratch,
                                               int h, int wd, int oh, int ow, int stride) {
    wide_t s = wide_sizes(h, wd, 3, 1, 1);
    long plane = (long)s.hp * s.wp, buf = pool_buf(s), rowspan = (long)(s.hp - 1) * s.wp + s.ow1;
    long front = 2L * s.wp + VL;   /* room for reads at j - 2*wp */
    float *xp = scratch, *r = xp + buf, *yw = r + buf, *colwin = yw + buf;
    float *rowwinz = colwin + buf, *dyz = rowwinz + buf, *grz = dyz + buf, *dxp = grz + buf;
    pool3_wide(1, yw, r, xp, x, s, h, wd);
    first_of3(colwin, xp, r, 1, rowspan);                       /* which column won each row maximum */
    for (long i = 0; i < buf; i++) { rowwinz[i] = -1; dyz[i] = 0; grz[i] = 0; }
    first_of3(rowwinz + front, r, yw, s.wp, s.span);            /* which row won each window */
    for (long i = front + s.span; i < buf; i++) rowwinz[i] = -1;
    scatter_strided(dyz + front, dy, s.wp, s.oh1, oh, ow, stride);
    /* Row maxima gradients (every padded row position), then the inputs'. */
    route3(grz + front, dyz + front, rowwinz + front, s.wp, rowspan);
    for (long i = front + rowspan; i < buf; i++) grz[i] = 0;
    /* Reads before colwin's start meet zero gradients in grz's front zone: they add nothing. */
    route3(dxp, grz + front, colwin, 1, plane);
    add_interior(dx, dxp, h, wd, 1, 0);
}

CLONES static void wide_pool3_avg_backward_add(float *dx, const float *dy, float *scratch, int h, int wd, int oh, int ow, int stride) {
    /* dx = the 3x3 box sum of the upsampled dy / count, separably: three columns, three rows. */
    wide_t s = wide_sizes(h, wd, 3, 1, 1);
    long plane = (long)s.hp * s.wp, buf = pool_buf(s);
    long front = 2L * (s.wp + 1);
    float *dxp = scratch, *gz = scratch + buf, *a = scratch + 3 * buf;
    for (long i = 0; i < 2 * buf; i++) gz[i] = 0;
    float *gw = gz + front;
    scatter_strided(gw, dy, s.wp, s.oh1, oh, ow, stride);
    for (int oy = 0; oy < oh; oy++) {
        float inv_rows = 1.0f / taps3(oy * stride, h);
        float *g = gw + (long)oy * stride * s.wp;
        for (int ox = 0; ox < ow; ox++) g[ox * stride] *= inv_rows / taps3(ox * stride, wd);
    }
    /* a[k] stands for position k - 2*wp: a[k] = g[j] + g[j-1] + g[j-2] with j = k - 2*wp. */
    wide_sum3(a, gz, 1, plane + 2L * s.wp);
    wide_sum3(dxp, a, s.wp, plane);
    add_interior(dx, dxp, h, wd, 1, 0);
}


/* The public pool kernels: the direct kernels where the plane's width allows, else the wide ones,
   plane after plane. */
#define POOL_PLANES(averaging, direct_call, wide_call)                                          \
    long xs = (long)h * wd, ys = (long)oh * ow;                                                 \
    if (pool3_direct(h, wd, oh, ow, stride)) {                                                  \
        float *inv = scratch;   /* the average's divisors (max pooling uses the scratch itself) */ \
        if (averaging) pool3_inverse_counts(inv, wd, ow, stride);                               \
        for (int p = 0; p < planes; p++) direct_call;                                           \
    } else                                                                                      \
        for (int p = 0; p < planes; p++) wide_call;

void nsas_pool3_max_forward(float *y, const float *x, float *scratch, int planes, int h, int wd, int oh, int ow, int stride) {
    POOL_PLANES(0, pool3_direct_forward(1, y + p * ys, x + p * xs, inv, h, wd, oh, ow, stride),
                wide_pool3_max_forward(y + p * ys, x + p * xs, scratch, h, wd, oh, ow, stride))
}
void nsas_pool3_avg_forward(float *y, const float *x, float *scratch, int planes, int h, int wd, int oh, int ow, int stride) {
    POOL_PLANES(1, pool3_direct_forward(0, y + p * ys, x + p * xs, inv, h, wd, oh, ow, stride),
                wide_pool3_avg_forward(y + p * ys, x + p * xs, scratch, h, wd, oh, ow, stride))
}
void nsas_pool3_max_backward_add(float *dx, const float *dy, const float *x, float *scratch,
                                 int planes, int h, int wd, int oh, int ow, int stride) {
    POOL_PLANES(0, pool3_direct_max_backward(dx + p * xs, dy + p * ys, x + p * xs, scratch, h, wd, oh, ow, stride),
                wide_pool3_max_backward_add(dx + p * xs, dy + p * ys, x + p * xs, scratch, h, wd, oh, ow, stride))
}
void nsas_pool3_avg_backward_add(float *dx, const float *dy, float *scratch, int planes, int h, int wd, int oh, int ow, int stride) {
    POOL_PLANES(1, pool3_direct_avg_backward(dx + p * xs, dy + p * ys, inv, h, wd, oh, ow, stride),
                wide_pool3_avg_backward_add(dx + p * xs, dy + p * ys, scratch, h, wd, oh, ow, stride))
}
