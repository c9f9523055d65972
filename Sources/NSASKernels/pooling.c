/* 3x3 max and average pooling (padding 1, average not counting padding): the public entry points
   and the wide kernels for planes the direct kernels (pooling_direct.c) do not take. */
#include "kernels_internal.h"
#include <string.h>

/* 3x3 pools, padding 1: wide layout with wp = w + 2; up to eight wide buffers with slack. */
static inline long pool_buf(wide_t s) { return (long)s.hp * s.wp + slack(s, 3, 1); }
/* (the staged planes below need at most two planes of h rows of 32, two of 16 and 3 rows of divisors) */
long nsas_pool3_scratch(int h, int wd) {
    long wide = 8 * pool_buf(wide_sizes(h, wd, 3, 1, 1)), staged = 6L * h * VL + 8 * VL;
    return wide > staged ? wide : staged;
}

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


/* Planes at most two vectors wide whose width is not a whole number of vectors (28, 14 and 7 at
   28x28) are staged: copied into rows of whole vectors (ws = 16 or 32 floats) filled past the
   width with -inf (max) or 0 (sums), pooled there by the direct kernels, and the outputs' real
   columns copied back. A fill column never holds a window's maximum (it is below every finite
   value, as in the wide kernels' padding) and adds nothing to a sum; the average's divisors count
   the real columns, and are 0 past the output so that nothing spreads from there. */
static inline int pool3_staged(int h, int wd, int oh, int ow, int stride) {
    int ws = wd <= VL ? VL : 2 * VL;
    return wd <= 2 * VL && wd % VL && pool3_direct(h, ws, oh, stride == 1 ? ws : ws / 2, stride) &&
           ow == (wd - 1) / stride + 1;
}

/* dst (h rows of ws: 8, 16 or 32) = src (h rows of wd <= ws), the columns past wd set to fill.
   Rows whose whole-vector loads stay within the plane are loaded whole and masked; the last
   ones through ROW_LOAD (never past the plane). */
CLONES static void stage_plane(float *restrict dst, const float *restrict src, int h, int wd, int ws, float fill) {
    long plane = (long)h * wd;
    v16 f = vsplat(fill);
    i16 m0 = LANES_BELOW(imin(VL, wd)), m1 = LANES_BELOW(wd - VL);
    int nv = ws > VL ? 2 : 1, safe = imin(h, plane < nv * VL ? 0 : (int)((plane - nv * VL) / wd) + 1);
    if (ws < VL) {
        for (int r = 0; r < h; r++)
            VSTOREN(dst + (long)r * ws, VSEL(m0, ROW_LOAD(src + (long)r * wd, wd, plane - (long)r * wd), f), VL / 2);
        return;
    }
    int r = 0;
    for (; r < safe; r++) {
        const float *s_ = src + (long)r * wd;
        vst(dst + (long)r * ws, VSEL(m0, vld(s_), f));
        if (nv == 2) vst(dst + (long)r * ws + VL, VSEL(m1, vld(s_ + VL), f));
    }
    for (; r < h; r++)
        for (int c = 0; c < ws; c += VL) {
            int n = imin(VL, wd - c);
            v16 t = n <= 0 ? f : VSEL(LANES_BELOW(n), ROW_LOAD(src + (long)r * wd + c, n, plane - (long)r * wd - c), f);
            vst(dst + (long)r * ws + c, t);
        }
}

/* dst (h rows of wd) [+]= the first wd columns of src (h rows of ws >= wd); the row's last
   vector stored in pieces (nothing written past the plane or over the next row). */
CLONES static void unstage_plane(float *restrict dst, const float *restrict src, int h, int wd, int ws, int accumulate) {
    long plane = (long)h * wd;
    int tail = wd > VL ? wd - VL : wd, lanes = ws < VL ? VL / 2 : VL;
    for (int r = 0; r < h; r++) {
        float *d = dst + (long)r * wd;
        const float *s_ = src + (long)r * ws;
        if (wd > VL) {
            vst(d, accumulate ? vld(d) + vld(s_) : vld(s_));
            d += VL; s_ += VL;
        }
        v16 t = VLOADN(s_, lanes, 0);
        if (accumulate) t += ROW_LOAD(d, tail, plane - (d - dst));
        STORE_PIECES(d, t, tail);
    }
}

/* The staged planes' divisors: rows of ows (the staged output width), 0 past the real ow. */
static void pool3_staged_inverse_counts(float *inv, int wd, int ow, int ows, int stride) {
    for (int t = 1; t <= 3; t++)
        for (int ox = 0; ox < ows; ox++) inv[(t - 1) * ows + ox] = ox < ow ? 1.0f / (float)(t * (int)taps3(ox * stride, wd)) : 0;
}

/* kind: 0 max forward, 1 average forward, 2 max backward, 3 average backward. */
static void pool3_staged_planes(int kind, float *out, const float *in, const float *x, float *scratch, int planes,
                                int h, int wd, int oh, int ow, int stride) {
    int ws = wd <= VL ? VL : 2 * VL, ows = stride == 1 ? ws : ws / 2;
    long xs = (long)h * wd, ys = (long)oh * ow;
    float *a = scratch, *b = a + (long)h * ws, *c = b + (long)h * ws, *inv = c + (long)oh * ows + VL;
    if (kind == 1 || kind == 3) pool3_staged_inverse_counts(inv, wd, ow, ows, stride);
    for (int p = 0; p < planes; p++) {
        if (kind < 2) {   /* out = y, in = x */
            stage_plane(a, in + p * xs, h, wd, ws, kind == 0 ? -__builtin_inff() : 0);
            pool3_direct_forward(kind == 0, c, a, inv, h, ws, oh, ows, stride);
            unstage_plane(out + p * ys, c, oh, ow, ows, 0);
        } else {          /* out = dx, in = dy */
            stage_plane(c, in + p * ys, oh, ow, ows, 0);
            memset(b, 0, sizeof(float) * (size_t)h * ws);
            if (kind == 2) {
                stage_plane(a, x + p * xs, h, wd, ws, -__builtin_inff());
                pool3_direct_max_backward(b, c, a, 0, h, ws, oh, ows, stride);   /* rows of 1-2 vectors: no scratch */
            } else pool3_direct_avg_backward(b, c, inv, h, ws, oh, ows, stride);
            unstage_plane(out + p * xs, b, h, wd, ws, 1);
        }
    }
}

/* The public pool kernels: the direct kernels where the plane's width allows (staged where it is
   not whole vectors), else the wide ones, plane after plane. */
#define POOL_PLANES(averaging, direct_call, staged_kind, staged_out, staged_in, wide_call)      \
    long xs = (long)h * wd, ys = (long)oh * ow;                                                 \
    if (pool3_direct(h, wd, oh, ow, stride)) {                                                  \
        float *inv = scratch;   /* the average's divisors (max pooling uses the scratch itself) */ \
        if (averaging) pool3_inverse_counts(inv, wd, ow, stride);                               \
        for (int p = 0; p < planes; p++) direct_call;                                           \
    } else if (pool3_staged(h, wd, oh, ow, stride))                                             \
        pool3_staged_planes(staged_kind, staged_out, staged_in, x_or_null, scratch, planes, h, wd, oh, ow, stride); \
    else                                                                                        \
        for (int p = 0; p < planes; p++) wide_call;

void nsas_pool3_max_forward(float *y, const float *x, float *scratch, int planes, int h, int wd, int oh, int ow, int stride) {
    const float *x_or_null = 0;
    POOL_PLANES(0, pool3_direct_forward(1, y + p * ys, x + p * xs, inv, h, wd, oh, ow, stride), 0, y, x,
                wide_pool3_max_forward(y + p * ys, x + p * xs, scratch, h, wd, oh, ow, stride))
}
void nsas_pool3_avg_forward(float *y, const float *x, float *scratch, int planes, int h, int wd, int oh, int ow, int stride) {
    const float *x_or_null = 0;
    POOL_PLANES(1, pool3_direct_forward(0, y + p * ys, x + p * xs, inv, h, wd, oh, ow, stride), 1, y, x,
                wide_pool3_avg_forward(y + p * ys, x + p * xs, scratch, h, wd, oh, ow, stride))
}
void nsas_pool3_max_backward_add(float *dx, const float *dy, const float *x, float *scratch,
                                 int planes, int h, int wd, int oh, int ow, int stride) {
    const float *x_or_null = x;
    POOL_PLANES(0, pool3_direct_max_backward(dx + p * xs, dy + p * ys, x + p * xs, scratch, h, wd, oh, ow, stride), 2, dx, dy,
                wide_pool3_max_backward_add(dx + p * xs, dy + p * ys, x + p * xs, scratch, h, wd, oh, ow, stride))
}
void nsas_pool3_avg_backward_add(float *dx, const float *dy, float *scratch, int planes, int h, int wd, int oh, int ow, int stride) {
    const float *x_or_null = 0;
    POOL_PLANES(1, pool3_direct_avg_backward(dx + p * xs, dy + p * ys, inv, h, wd, oh, ow, stride), 3, dx, dy,
                wide_pool3_avg_backward_add(dx + p * xs, dy + p * ys, scratch, h, wd, oh, ow, stride))
}
