#include "nsas_kernels.h"
#include <string.h>

#if defined(__x86_64__) && defined(__clang__)
#define CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define CLONES
#endif
/* Reductions may be reordered into vector lanes (float sums of at most a plane; the totals
   are accumulated in double by the callers). */
#define REASSOC _Pragma("clang fp reassociate(on)")

/* Explicit 16-float vectors (one AVX-512 register, two AVX2 or four SSE registers per clone). */
typedef float v16 __attribute__((vector_size(64), aligned(4)));
typedef int i16 __attribute__((vector_size(64), aligned(4)));
#define VL 16
/* Macros, not functions: a function taking or returning v16 would change the ABI per clone. */
#define vld(p) (*(const v16 *)(p))
#define vst(p, v) (*(v16 *)(p) = (v))
#define vsplat(a) ((v16){} + (float)(a))

static inline int imax(int a, int b) { return a > b ? a : b; }
static inline int imin(int a, int b) { return a < b ? a : b; }

CLONES void nsas_axpy(float *restrict y, const float *restrict x, float a, long n) {
    for (long i = 0; i < n; i++) y[i] += a * x[i];
}

CLONES double nsas_sum(const float *restrict x, long n) {
    REASSOC
    float s = 0;
    for (long i = 0; i < n; i++) s += x[i];
    return s;
}

CLONES double nsas_sum_sq_centered(const float *restrict x, float m, long n) {
    REASSOC
    float s = 0;
    for (long i = 0; i < n; i++) { float d = x[i] - m; s += d * d; }
    return s;
}

CLONES void nsas_affine(float *restrict y, const float *restrict x, float a, float b, long n) {
    for (long i = 0; i < n; i++) y[i] = x[i] * a + b;
}

CLONES void nsas_sum_dy_dyxc(const float *restrict dy, const float *restrict x, float m, long n,
                             double *sum_dy, double *sum_dyxc) {
    REASSOC
    float a = 0, b = 0;
    for (long i = 0; i < n; i++) { a += dy[i]; b += dy[i] * (x[i] - m); }
    *sum_dy += a; *sum_dyxc += b;
}

CLONES void nsas_bn_dx_add(float *restrict dx, const float *restrict dy, const float *restrict x, float k,
                           float mean_dy, float m, float slope, long n) {
    for (long i = 0; i < n; i++) dx[i] += k * (dy[i] - mean_dy - (x[i] - m) * slope);
}

/* The depthwise and pooling kernels work on a "wide" layout: the plane is copied into a padded
   buffer of width wp = w + 2*pad, and the stride-1 output grid is computed at every position
   i = oy1 * wp + ox1 of that width (the columns past the real output are computed and ignored).
   Each kernel tap then is one long contiguous loop over the plane instead of a short loop per
   row, which is what makes these memory-bound kernels fast. Strided outputs are the stride-1
   grid's positions (oy*stride, ox*stride). */

/* xp (hp, wp) = x (h, w) surrounded by pad rows and columns of fill. */
CLONES static void pad_plane(float *restrict xp, const float *restrict x, int h, int wd, int pad, float fill) {
    int wp = wd + 2 * pad, hp = h + 2 * pad;
    for (long i = 0; i < (long)pad * wp; i++) { xp[i] = fill; xp[(long)(hp - pad) * wp + i] = fill; }
    for (int r = 0; r < h; r++) {
        float *restrict row = xp + (long)(r + pad) * wp;
        for (int c = 0; c < pad; c++) { row[c] = fill; row[pad + wd + c] = fill; }
        const float *restrict src = x + (long)r * wd;
        for (int c = 0; c < wd; c++) row[pad + c] = src[c];
    }
}

/* y (oh, ow) = wide (.., wp) at the strided grid positions. */
CLONES static void gather_strided(float *restrict y, const float *restrict wide, int wp, int oh, int ow, int stride) {
    for (int oy = 0; oy < oh; oy++) {
        const float *restrict src = wide + (long)oy * stride * wp;
        float *restrict dst = y + (long)oy * ow;
        if (stride == 1) for (int ox = 0; ox < ow; ox++) dst[ox] = src[ox];
        else for (int ox = 0; ox < ow; ox++) dst[ox] = src[ox * stride];
    }
}

/* wide (oh1, wp) = 0 except dy (oh, ow) at the strided grid positions. */
static void scatter_strided(float *restrict wide, const float *restrict dy, int wp, int oh1, int oh, int ow, int stride) {
    memset(wide, 0, sizeof(float) * (size_t)oh1 * wp);
    for (int oy = 0; oy < oh; oy++) {
        float *restrict dst = wide + (long)oy * stride * wp;
        const float *restrict src = dy + (long)oy * ow;
        for (int ox = 0; ox < ow; ox++) dst[ox * stride] = src[ox];
    }
}

/* dx (h, w) += interior of xp (hp, wp). */
CLONES static void add_interior(float *restrict dx, const float *restrict xp, int h, int wd, int pad) {
    int wp = wd + 2 * pad;
    for (int r = 0; r < h; r++) {
        const float *restrict src = xp + (long)(r + pad) * wp + pad;
        float *restrict dst = dx + (long)r * wd;
        for (int c = 0; c < wd; c++) dst[c] += src[c];
    }
}

/* Sizes of the wide layout for a k x k window with dilation dil. */
typedef struct { int hp, wp, oh1, ow1; long span; } wide_t;
static inline wide_t wide_sizes(int h, int wd, int k, int pad, int dil) {
    wide_t s;
    s.hp = h + 2 * pad; s.wp = wd + 2 * pad;
    s.oh1 = s.hp - dil * (k - 1); s.ow1 = s.wp - dil * (k - 1);
    s.span = (long)(s.oh1 - 1) * s.wp + s.ow1;   /* wide positions up to the last real output */
    return s;
}

/* Taps of a k x k window with dilation dil as offsets in the wide layout; at most 7x7. */
static int tap_offsets(long *off, int k, int dil, int wp) {
    int t = 0;
    for (int ky = 0; ky < k; ky++)
        for (int kx = 0; kx < k; kx++) off[t++] = (long)ky * dil * wp + kx * dil;
    return t;
}

/* Largest tap offset plus a block of four vectors: the slack each wide buffer carries past its end, so that
   whole-vector loops may run over the last partial vector (results there are discarded). */
static inline long slack(wide_t s, int k, int dil) { return (long)(k - 1) * dil * (s.wp + 1) + 5 * VL; }

long nsas_dw_scratch(int h, int wd, int k, int pad, int dil) {
    wide_t s = wide_sizes(h, wd, k, pad, dil);
    return 3 * ((long)s.hp * s.wp + slack(s, k, dil));
}

/* yw[i] = sum_t w[t] * xp[i + off[t]] for i < n (rounded up to blocks of four vectors: four
   independent accumulators hide the FMA latency). */
CLONES static void wide_correlate(float *restrict yw, const float *restrict xp, const float *restrict w,
                                  const long *restrict off, int taps, long n) {
    for (long i = 0; i < n; i += 4 * VL) {
        v16 a0 = vsplat(0), a1 = a0, a2 = a0, a3 = a0;
        for (int t = 0; t < taps; t++) {
            v16 wt = vsplat(w[t]);
            const float *p = xp + i + off[t];
            a0 += wt * vld(p); a1 += wt * vld(p + VL); a2 += wt * vld(p + 2 * VL); a3 += wt * vld(p + 3 * VL);
        }
        vst(yw + i, a0); vst(yw + i + VL, a1); vst(yw + i + 2 * VL, a2); vst(yw + i + 3 * VL, a3);
    }
}

/* dw[t] += sum_i dyw[i] * xp[i + off[t]] over i < n (rounded up; dyw is zero past n). */
CLONES static void wide_weight_grad(float *restrict dw, const float *restrict dyw, const float *restrict xp,
                                    const long *restrict off, int taps, long n) {
    for (int t = 0; t < taps; t++) {
        v16 a0 = vsplat(0), a1 = vsplat(0);
        const float *restrict xt = xp + off[t];
        long i = 0;
        for (; i + VL < n; i += 2 * VL) {
            a0 += vld(dyw + i) * vld(xt + i);
            a1 += vld(dyw + i + VL) * vld(xt + i + VL);
        }
        for (; i < n; i += VL) a0 += vld(dyw + i) * vld(xt + i);
        v16 a = a0 + a1;
        float sum = 0;
        for (int j = 0; j < VL; j++) sum += a[j];
        dw[t] += sum;
    }
}

void nsas_dw_forward(float *y, const float *x, const float *w, float *scratch, int h, int wd, int oh, int ow,
                     int k, int stride, int pad, int dil) {
    wide_t s = wide_sizes(h, wd, k, pad, dil);
    long buf = (long)s.hp * s.wp + slack(s, k, dil), off[49];
    float *xp = scratch, *yw = scratch + buf;
    pad_plane(xp, x, h, wd, pad, 0);
    memset(xp + (long)s.hp * s.wp, 0, sizeof(float) * (size_t)slack(s, k, dil));
    int taps = tap_offsets(off, k, dil, s.wp);
    wide_correlate(yw, xp, w, off, taps, s.span);
    gather_strided(y, yw, s.wp, oh, ow, stride);
}

void nsas_dw_backward_data_add(float *dx, const float *dy, const float *w, float *scratch, int h, int wd, int oh, int ow,
                               int k, int stride, int pad, int dil) {
    /* dxp[j] = sum_t w[t] * dyw[j - off[t]]: a correlation of the zero-extended upsampled dy with
       the flipped kernel. dyw sits `front` zeros into its buffer so that j - off[t] >= -front. */
    wide_t s = wide_sizes(h, wd, k, pad, dil);
    long plane = (long)s.hp * s.wp, buf = plane + slack(s, k, dil), off[49], flipped[49];
    long front = (long)(k - 1) * dil * (s.wp + 1);
    float *dxp = scratch, *dyz = scratch + buf;
    int taps = tap_offsets(off, k, dil, s.wp);
    memset(dyz, 0, sizeof(float) * (size_t)(2 * buf));
    scatter_strided(dyz + front, dy, s.wp, s.oh1, oh, ow, stride);
    for (int t = 0; t < taps; t++) flipped[t] = front - off[t];
    wide_correlate(dxp, dyz, w, flipped, taps, plane);
    add_interior(dx, dxp, h, wd, pad);
}

void nsas_dw_backward_weight_add(float *dw, const float *x, const float *dy, float *scratch, int h, int wd, int oh, int ow,
                                 int k, int stride, int pad, int dil) {
    wide_t s = wide_sizes(h, wd, k, pad, dil);
    long buf = (long)s.hp * s.wp + slack(s, k, dil), off[49];
    float *xp = scratch, *dyw = scratch + buf;
    pad_plane(xp, x, h, wd, pad, 0);
    memset(xp + (long)s.hp * s.wp, 0, sizeof(float) * (size_t)slack(s, k, dil));
    memset(dyw, 0, sizeof(float) * (size_t)buf);
    scatter_strided(dyw, dy, s.wp, s.oh1, oh, ow, stride);
    int taps = tap_offsets(off, k, dil, s.wp);
    wide_weight_grad(dw, dyw, xp, off, taps, s.span);
}

/* 3x3 pools, padding 1: wide layout with wp = w + 2; five wide buffers with slack. */
static inline long pool_buf(wide_t s) { return (long)s.hp * s.wp + slack(s, 3, 1); }
long nsas_pool3_scratch(int h, int wd) { return 5 * pool_buf(wide_sizes(h, wd, 3, 1, 1)); }

CLONES static void wide_max3(float *restrict r, const float *restrict x, long step, long n) {
    for (long i = 0; i < n; i++) {
        float a = x[i] > x[i + step] ? x[i] : x[i + step];
        r[i] = a > x[i + 2 * step] ? a : x[i + 2 * step];
    }
}
CLONES static void wide_sum3(float *restrict r, const float *restrict x, long step, long n) {
    for (long i = 0; i < n; i++) r[i] = x[i] + x[i + step] + x[i + 2 * step];
}

/* Number of in-image taps along one axis of the window centred on c. */
static inline float taps3(int c, int n) { return (float)(imin(n - 1, c + 1) - imax(0, c - 1) + 1); }

/* yw = max or sum over each 3x3 window of xp (padded with -inf or 0), separably. */
static void pool3_wide(int is_max, float *yw, float *r, float *xp, const float *x, wide_t s, int h, int wd) {
    pad_plane(xp, x, h, wd, 1, is_max ? -__builtin_inff() : 0);
    long rowspan = (long)(s.hp - 1) * s.wp + s.ow1;        /* row pass over every padded row */
    if (is_max) { wide_max3(r, xp, 1, rowspan); wide_max3(yw, r, s.wp, s.span); }
    else { wide_sum3(r, xp, 1, rowspan); wide_sum3(yw, r, s.wp, s.span); }
}

static void pool3_forward(int is_max, float *y, const float *x, float *scratch, int h, int wd, int oh, int ow, int stride) {
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

void nsas_pool3_max_forward(float *y, const float *x, float *scratch, int h, int wd, int oh, int ow, int stride) {
    pool3_forward(1, y, x, scratch, h, wd, oh, ow, stride);
}
void nsas_pool3_avg_forward(float *y, const float *x, float *scratch, int h, int wd, int oh, int ow, int stride) {
    pool3_forward(0, y, x, scratch, h, wd, oh, ow, stride);
}

/* win[i] = index of the first tap (row-major) whose value equals the window maximum yw[i]. */
CLONES static void first_max_tap(float *restrict win, const float *restrict xp, const float *restrict yw,
                                 const long *restrict off, long n) {
    for (long i = 0; i < n; i += VL) {
        v16 y = vld(yw + i), w = vsplat(-1);
        for (int t = 8; t >= 0; t--) {      /* descending, so the smallest matching tap is kept */
            i16 eq = vld(xp + i + off[t]) == y;
            w = (v16)((eq & (i16)vsplat(t)) | (~eq & (i16)w));
        }
        vst(win + i, w);
    }
}

/* dxp[j] = sum_t dyz[j + flipped[t]] where winz[j + flipped[t]] == t: each output's gradient
   gathered by the input that won its window. A gather (loads only, one store per vector)
   rather than a scatter, whose overlapping stores stall the store-to-load forwarding. */
CLONES static void gather_routed(float *restrict dxp, const float *restrict winz, const float *restrict dyz,
                                 const long *restrict flipped, long n) {
    for (long j = 0; j < n; j += 2 * VL) {
        v16 a0 = vsplat(0), a1 = a0;
        for (int t = 0; t < 9; t++) {
            const float *w = winz + j + flipped[t], *g = dyz + j + flipped[t];
            v16 tv = vsplat(t);
            a0 += (v16)((i16)vld(g) & (vld(w) == tv));
            a1 += (v16)((i16)vld(g + VL) & (vld(w + VL) == tv));
        }
        vst(dxp + j, a0); vst(dxp + j + VL, a1);
    }
}

void nsas_pool3_max_backward_add(float *dx, const float *dy, const float *x, float *scratch,
                                 int h, int wd, int oh, int ow, int stride) {
    wide_t s = wide_sizes(h, wd, 3, 1, 1);
    long plane = (long)s.hp * s.wp, buf = pool_buf(s), off[9], flipped[9];
    long front = 2L * (s.wp + 1);
    float *xp = scratch, *r = xp + buf, *yw = r + buf, *winz = yw + buf, *dyz = winz + buf;
    float *dxp = r;     /* the row pass is done before dxp is written */
    pool3_wide(1, yw, r, xp, x, s, h, wd);
    tap_offsets(off, 3, 1, s.wp);
    for (long i = 0; i < buf; i++) winz[i] = -1;
    first_max_tap(winz + front, xp, yw, off, s.span);
    /* Positions past the last real output won nothing. */
    for (long i = front + s.span; i < buf; i++) winz[i] = -1;
    for (long i = 0; i < buf; i++) dyz[i] = 0;
    scatter_strided(dyz + front, dy, s.wp, s.oh1, oh, ow, stride);
    for (int t = 0; t < 9; t++) flipped[t] = front - off[t];
    gather_routed(dxp, winz, dyz, flipped, plane);
    add_interior(dx, dxp, h, wd, 1);
}

void nsas_pool3_avg_backward_add(float *dx, const float *dy, float *scratch, int h, int wd, int oh, int ow, int stride) {
    /* dx = the 3x3 box sum of dy / count, upsampled: a correlation with a kernel of ones. */
    wide_t s = wide_sizes(h, wd, 3, 1, 1);
    long plane = (long)s.hp * s.wp, buf = pool_buf(s), off[9], flipped[9];
    long front = 2L * (s.wp + 1);
    float *dxp = scratch, *gz = scratch + buf;
    memset(gz, 0, sizeof(float) * (size_t)(2 * buf));
    float *gw = gz + front;
    scatter_strided(gw, dy, s.wp, s.oh1, oh, ow, stride);
    for (int oy = 0; oy < oh; oy++) {
        float inv_rows = 1.0f / taps3(oy * stride, h);
        float *g = gw + (long)oy * stride * s.wp;
        for (int ox = 0; ox < ow; ox++) g[ox * stride] *= inv_rows / taps3(ox * stride, wd);
    }
    tap_offsets(off, 3, 1, s.wp);
    static const float ones[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    for (int t = 0; t < 9; t++) flipped[t] = front - off[t];
    wide_correlate(dxp, gz, ones, flipped, 9, plane);
    add_interior(dx, dxp, h, wd, 1);
}
