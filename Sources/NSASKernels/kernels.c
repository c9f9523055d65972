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
/* a broadcast (not 0 + a, which costs a scalar add before every broadcast: the compiler may not fold it) */
#define vsplat(a) ({ float s_ = (float)(a); (v16){s_, s_, s_, s_, s_, s_, s_, s_, s_, s_, s_, s_, s_, s_, s_, s_}; })

/* Lane shuffles of the row kernels (pools, depthwise). */
typedef float v8 __attribute__((vector_size(32), aligned(4)));
#define SHL1(prev, cur) __builtin_shufflevector(prev, cur, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30)
#define SHR1(cur, next) __builtin_shufflevector(cur, next, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16)
#define EVENS(a, b) __builtin_shufflevector(a, b, 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30)
#define ODDS(a, b) __builtin_shufflevector(a, b, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31)
#define ZIPLO(a, b) __builtin_shufflevector(a, b, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23)
#define ZIPHI(a, b) __builtin_shufflevector(a, b, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31)
#define VSEL(m, a, b) ((v16)(((m) & (i16)(a)) | (~(m) & (i16)(b))))
/* a > b ? a : b per lane: the scalar kernels' maximum. */
#define VMAX(a, b) VSEL((a) > (b), a, b)
#define VMASK(v, m) ((v16)((i16)(v) & (m)))
/* The sum of a vector's lanes, in lane order. */
#define VSUM(v) ({ v16 vs_ = (v); float s_ = 0; for (int l_ = 0; l_ < VL; l_++) s_ += vs_[l_]; s_; })
/* v, or relu(v) when relu is set (the ReLU fused before every DARTS convolution). */
#define VRELU_IF(v, relu) ((relu) ? __builtin_elementwise_max(v, vsplat(0)) : (v))
/* n (8 or 16) floats from p into a vector, fill past n; and the first n lanes of v stored at p. */
#define VLOADN(p, n, fill) ((n) == VL ? vld(p) : __builtin_shufflevector(*(const v8 *)(p), (v8){} + (fill), \
                            0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15))
#define VSTOREN(p, v, n) do { if ((n) == VL) vst(p, v); else *(v8 *)(p) = __builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7); } while (0)

#define INLINE static inline __attribute__((always_inline))
/* Lanes of the row (p, c, n) shifted by s in -4..4 (a constant): lane i is element i + s of c,
   reaching into the previous vector p or the next n. */
#define SHIFTV(p, c, n, s) ( \
    (s) == -4 ? __builtin_shufflevector(p, c, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27) : \
    (s) == -3 ? __builtin_shufflevector(p, c, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28) : \
    (s) == -2 ? __builtin_shufflevector(p, c, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29) : \
    (s) == -1 ? __builtin_shufflevector(p, c, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30) : \
    (s) == 0 ? (c) : \
    (s) == 1 ? __builtin_shufflevector(c, n, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16) : \
    (s) == 2 ? __builtin_shufflevector(c, n, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17) : \
    (s) == 3 ? __builtin_shufflevector(c, n, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18) : \
    (s) == 4 ? __builtin_shufflevector(c, n, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19) : \
    (c))

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

/* dst (n) = src (n): whole vectors, then the rest (rows are short: a library call or a generic
   vectorised loop costs more than the copy). */
static inline void copy_row(float *restrict dst, const float *restrict src, int n) {
    int c = 0;
    for (; c + VL <= n; c += VL) vst(dst + c, vld(src + c));
    for (; c < n; c++) dst[c] = src[c];
}

/* xp (hp, wp) = x (h, w) surrounded by pad rows and columns of fill. */
CLONES static void pad_plane(float *restrict xp, const float *restrict x, int h, int wd, int pad, float fill, int relu) {
    int wp = wd + 2 * pad, hp = h + 2 * pad;
    for (long i = 0; i < (long)pad * wp; i++) { xp[i] = fill; xp[(long)(hp - pad) * wp + i] = fill; }
    for (int r = 0; r < h; r++) {
        float *restrict row = xp + (long)(r + pad) * wp;
        for (int c = 0; c < pad; c++) { row[c] = fill; row[pad + wd + c] = fill; }
        const float *restrict src = x + (long)r * wd;
        if (relu) {
            int c = 0;
            for (; c + VL <= wd; c += VL) vst(row + pad + c, __builtin_elementwise_max(vld(src + c), vsplat(0)));
            for (; c < wd; c++) row[pad + c] = src[c] > 0 ? src[c] : 0;
        } else copy_row(row + pad, src, wd);
    }
}

/* y (oh, ow) = wide (.., wp) at the strided grid positions. */
CLONES static void gather_strided(float *restrict y, const float *restrict wide, int wp, int oh, int ow, int stride) {
    for (int oy = 0; oy < oh; oy++) {
        const float *restrict src = wide + (long)oy * stride * wp;
        float *restrict dst = y + (long)oy * ow;
        if (stride == 1) copy_row(dst, src, ow);
        else for (int ox = 0; ox < ow; ox++) dst[ox] = src[ox * stride];
    }
}

/* wide (oh1, wp) = 0 except dy (oh, ow) at the strided grid positions. */
CLONES static void scatter_strided(float *restrict wide, const float *restrict dy, int wp, int oh1, int oh, int ow, int stride) {
    memset(wide, 0, sizeof(float) * (size_t)oh1 * wp);
    for (int oy = 0; oy < oh; oy++) {
        float *restrict dst = wide + (long)oy * stride * wp;
        const float *restrict src = dy + (long)oy * ow;
        for (int ox = 0; ox < ow; ox++) dst[ox * stride] = src[ox];
    }
}

/* dx (h, w) += interior of xp (hp, wp). */
/* dx (h, w) += interior of xp (hp, wp), only where mask > 0 when a mask (the ReLU's input) is given. */
CLONES static void add_interior(float *restrict dx, const float *restrict xp, int h, int wd, int pad, const float *restrict mask) {
    int wp = wd + 2 * pad;
    for (int r = 0; r < h; r++) {
        const float *restrict src = xp + (long)(r + pad) * wp + pad;
        float *restrict dst = dx + (long)r * wd;
        if (mask) {
            const float *restrict m = mask + (long)r * wd;
            for (int c = 0; c < wd; c++) dst[c] += m[c] > 0 ? src[c] : 0;
        } else {
            int c = 0;
            for (; c + VL <= wd; c += VL) vst(dst + c, vld(dst + c) + vld(src + c));
            for (; c < wd; c++) dst[c] += src[c];
        }
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

/* Taps of a k x k window with dilation dil as offsets in the wide layout; at most 7x7 (the
   callers send larger kernels to the im2col path). */
static int tap_offsets(long *off, int k, int dil, int wp) {
    int t = 0;
    for (int ky = 0; ky < k; ky++)
        for (int kx = 0; kx < k; kx++) off[t++] = (long)ky * dil * wp + kx * dil;
    return t;
}

/* Largest tap offset plus a block of four vectors: the slack each wide buffer carries past its end, so that
   whole-vector loops may run over the last partial vector (results there are discarded). */
static inline long slack(wide_t s, int k, int dil) { return (long)(k - 1) * dil * (s.wp + 1) + 5 * VL; }

/* Stride 2 runs on the four phase planes of the padded input (even/odd rows x even/odd columns),
   each (hp+1)/2 x (wp+1)/2: a stride-1 correlation there computes only the outputs needed. */
typedef struct { int ph, pw; long plane, slack; } phase_t;
static inline phase_t phase_sizes(wide_t s, int k, int dil) {
    phase_t p;
    p.ph = (s.hp + 1) / 2; p.pw = (s.wp + 1) / 2;
    p.plane = (long)p.ph * p.pw;
    p.slack = (long)((k - 1) * dil / 2) * (p.pw + 1) + 5 * VL;
    return p;
}

long nsas_dw_scratch(int h, int wd, int k, int pad, int dil) {
    wide_t s = wide_sizes(h, wd, k, pad, dil);
    phase_t p = phase_sizes(s, k, dil);
    /* three wide buffers; for stride 2 also four phase planes (with slack after the last) and their output */
    return 3 * ((long)s.hp * s.wp + slack(s, k, dil)) + 5 * p.plane + 2 * p.slack;
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

/* dw[t] += sum_i dyw[i] * xp[i + off[t]] over i < n (whole vectors; dyw is zero past n).
   For the DARTS kernels (9 and 25 taps) every tap's accumulator stays in a register and dyw is
   loaded once per vector; other sizes loop over taps. */
#define WEIGHT_GRAD_FIXED(T)                                                                   \
    CLONES static void wide_weight_grad_##T(float *restrict dw, const float *restrict dyw,    \
                                            const float *restrict xp, const long *restrict off, long n) { \
        v16 acc[T];                                                                            \
        for (int t = 0; t < T; t++) acc[t] = vsplat(0);                                        \
        for (long i = 0; i < n; i += VL) {                                                     \
            v16 g = vld(dyw + i);                                                              \
            for (int t = 0; t < T; t++) acc[t] += g * vld(xp + i + off[t]);                    \
        }                                                                                      \
        for (int t = 0; t < T; t++) dw[t] += VSUM(acc[t]);                                     \
    }
WEIGHT_GRAD_FIXED(9)
WEIGHT_GRAD_FIXED(25)

CLONES static void wide_weight_grad(float *restrict dw, const float *restrict dyw, const float *restrict xp,
                                    const long *restrict off, int taps, long n) {
    if (taps == 9) { wide_weight_grad_9(dw, dyw, xp, off, n); return; }
    if (taps == 25) { wide_weight_grad_25(dw, dyw, xp, off, n); return; }
    for (int t = 0; t < taps; t++) {
        v16 a0 = vsplat(0), a1 = vsplat(0);
        const float *restrict xt = xp + off[t];
        long i = 0;
        for (; i + VL < n; i += 2 * VL) {
            a0 += vld(dyw + i) * vld(xt + i);
            a1 += vld(dyw + i + VL) * vld(xt + i + VL);
        }
        for (; i < n; i += VL) a0 += vld(dyw + i) * vld(xt + i);
        dw[t] += VSUM(a0 + a1);
    }
}

/* xp = the padded plane (relu'd when asked) with its slack zeroed, ready for whole-vector loops. */
CLONES static void padded_input(float *xp, const float *x, wide_t s, int h, int wd, int k, int pad, int dil, int relu) {
    pad_plane(xp, x, h, wd, pad, 0, relu);
    memset(xp + (long)s.hp * s.wp, 0, sizeof(float) * (size_t)slack(s, k, dil));
}

/* The four phase planes of the padded input xp (with zeroed slack after the last), and every
   tap's offset from `phases`: tap (ky, kx) reads phase (ky*dil % 2, kx*dil % 2) at
   (oy + ky*dil/2, ox + kx*dil/2), so the wide kernels run on the phase grid as on a plane.
   Returns the number of taps. */
CLONES static int phase_split(float *phases, long *off, const float *xp, wide_t s, phase_t p, int k, int dil) {
    /* Deinterleave every padded row into its even and odd phase rows, 32 inputs at a time. */
    for (int yy = 0; yy < s.hp; yy++) {
        const float *row = xp + (long)yy * s.wp;
        float *even = phases + ((yy % 2) * 2) * p.plane + (long)(yy / 2) * p.pw;
        float *odd = even + p.plane;
        int c = 0;
        for (; c + 2 * VL <= s.wp && c / 2 + VL <= p.pw; c += 2 * VL) {
            v16 a = vld(row + c), b = vld(row + c + VL);
            vst(even + c / 2, __builtin_shufflevector(a, b, 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30));
            vst(odd + c / 2, __builtin_shufflevector(a, b, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31));
        }
        for (; c < s.wp; c++) (c % 2 ? odd : even)[c / 2] = row[c];
        if (s.wp % 2) odd[p.pw - 1] = 0;   /* the odd phase's last column lies past the plane */
    }
    if (s.hp % 2)   /* the odd phase's last row lies past the plane */
        for (int px = 0; px < 2; px++) memset(phases + (2 + px) * p.plane + (long)(p.ph - 1) * p.pw, 0, sizeof(float) * (size_t)p.pw);
    memset(phases + 4 * p.plane, 0, sizeof(float) * (size_t)p.slack);
    int t = 0;
    for (int ky = 0; ky < k; ky++)
        for (int kx = 0; kx < k; kx++) {
            int oy = ky * dil, ox = kx * dil;
            off[t++] = ((oy % 2) * 2 + (ox % 2)) * p.plane + (long)(oy / 2) * p.pw + ox / 2;
        }
    return t;
}

/* Stride-2 forward on the phase planes: a stride-1 correlation computing only the needed outputs. */
CLONES static void dw_forward_stride2(float *y, const float *xp, const float *w, float *scratch, wide_t s,
                                      int oh, int ow, int k, int dil) {
    phase_t p = phase_sizes(s, k, dil);
    float *phases = scratch, *yw = scratch + 4 * p.plane + p.slack;
    long off[49];
    int taps = phase_split(phases, off, xp, s, p, k, dil);
    wide_correlate(yw, phases, w, off, taps, (long)(oh - 1) * p.pw + ow);
    gather_strided(y, yw, p.pw, oh, ow, 1);
}

/* Stride-2 weight gradient: dw[t] += sum over outputs of dy * the tap's phase value. */
CLONES static void dw_weight_grad_stride2(float *dw, const float *xp, const float *dy, float *scratch, wide_t s,
                                          int oh, int ow, int k, int dil) {
    phase_t p = phase_sizes(s, k, dil);
    float *phases = scratch, *dyw = scratch + 4 * p.plane + p.slack;
    long off[49];
    int taps = phase_split(phases, off, xp, s, p, k, dil);
    long n = (long)(oh - 1) * p.pw + ow;
    memset(dyw, 0, sizeof(float) * (size_t)((n + VL - 1) / VL * VL));
    for (int oy = 0; oy < oh; oy++) copy_row(dyw + (long)oy * p.pw, dy + (long)oy * ow, ow);
    wide_weight_grad(dw, dyw, phases, off, taps, n);
}

/* Direct depthwise kernels for stride 1 with 'same' padding on planes one or two vectors wide
   (widths 16 and 32: the DARTS cells' first two stages), kernel 3 or 5, dilation 1 or 2, each
   compiled for its sizes. A row at a time: each kernel row's input row is loaded once, its
   column taps made by lane shifts in registers (zeros past the row's ends), the vertical taps
   by reading the neighbouring rows (missing rows skipped). No padded copy, no wide buffers.
   Accumulators per (kernel row, vector) keep independent FMA chains. */
static int dw_direct(int h, int wd, int oh, int ow, int k, int stride, int pad, int dil) {
    return stride == 1 && (wd == VL || wd == 2 * VL) && oh == h && ow == wd && (k == 3 || k == 5) &&
           (dil == 1 || dil == 2) && pad == dil * (k - 1) / 2;
}

/* out (h, wd) [+]= the correlation of in (relu'd when asked) with w (k x k, dilation dil, zero
   padding 'same'), masked by mask > 0 when a mask is given.
   Input rows are streamed in order, each loaded once and shifted once per column tap; every
   shifted row feeds the k output rows it belongs to, held in k accumulator slots (slot s is
   output row iy - pad + s*dil; kernel row k-1-s). When the next input row comes, slot 0's row is
   complete: it is stored and the slots move down. With dilation 2 the even and odd output rows
   are two independent streams. So each output vector costs k*k FMAs but only k-1 shifts. */
INLINE void dw_rows_body(float *restrict out, const float *restrict in, const float *restrict w, const float *restrict w2,
                         const float *restrict mask, int h, int nv, int k, int dil, int relu, int accumulate, int pair) {
    /* pair: two planes one vector wide side by side (consecutive planes, kernels w and w2), as
       the two vectors of a row: twice the independent FMA chains of one narrow plane. */
    int rs = pair ? VL : nv * VL, pad = dil * (k - 1) / 2;
    long ps = (long)h * VL;
#define AT(base, row, v) ((base) + (long)(row) * rs + (pair ? (v) * ps : (long)(v) * VL))
    v16 zero = vsplat(0);
    for (int q = 0; q < dil && q < h; q++) {
        int last = q + (h - 1 - q) / dil * dil;   /* the stream's last output row */
        v16 acc[5][2];
        for (int sl = 0; sl < k; sl++)
            for (int v = 0; v < nv; v++) acc[sl][v] = zero;
        for (int iy = q - pad; iy <= last + pad; iy += dil) {
            if (iy >= 0 && iy < h) {
                v16 c[2];
                for (int v = 0; v < nv; v++) {
                    c[v] = VRELU_IF(vld(AT(in, iy, v)), relu);
                }
                for (int kx = 0; kx < k; kx++) {
                    int sh = kx * dil - pad;
                    for (int v = 0; v < nv; v++) {
                        v16 t = SHIFTV(v > 0 && !pair ? c[v - 1] : zero, c[v], v + 1 < nv && !pair ? c[v + 1] : zero, sh);
                        const float *wv = pair && v ? w2 : w;
                        for (int sl = 0; sl < k; sl++) acc[sl][v] += vsplat(wv[(k - 1 - sl) * k + kx]) * t;
                    }
                }
            }
            int oy = iy - pad;
            if (oy >= 0 && oy < h)
                for (int v = 0; v < nv; v++) {
                    v16 sum = acc[0][v];
                    float *o = AT(out, oy, v);
                    if (mask) sum = VMASK(sum, vld(AT(mask, oy, v)) > zero);
                    vst(o, accumulate ? vld(o) + sum : sum);
                }
            for (int sl = 0; sl + 1 < k; sl++)
                for (int v = 0; v < nv; v++) acc[sl][v] = acc[sl + 1][v];
            for (int v = 0; v < nv; v++) acc[k - 1][v] = zero;
        }
    }
#undef AT
}

/* The bodies compiled for each (width in vectors, kernel, dilation). */
#define DW_SPECIALISED(body, nv, k, dil)                                                        \
    if (nv == 1) { if (k == 3) { if (dil == 1) body(1, 3, 1); else body(1, 3, 2); }             \
                   else { if (dil == 1) body(1, 5, 1); else body(1, 5, 2); } }                  \
    else { if (k == 3) { if (dil == 1) body(2, 3, 1); else body(2, 3, 2); }                     \
           else { if (dil == 1) body(2, 5, 1); else body(2, 5, 2); } }

CLONES static void dw_direct_rows(float *restrict out, const float *restrict in, const float *restrict w,
                                  const float *restrict mask, int h, int wd, int k, int dil, int relu, int accumulate) {
#define BODY(n_, k_, d_) do { if (relu) dw_rows_body(out, in, w, w, mask, h, n_, k_, d_, 1, accumulate, 0); \
                              else dw_rows_body(out, in, w, w, mask, h, n_, k_, d_, 0, accumulate, 0); } while (0)
    DW_SPECIALISED(BODY, wd / VL, k, dil)
#undef BODY
}

/* Two consecutive planes one vector wide at once (see dw_rows_body). */
CLONES static void dw_direct_rows_pair(float *restrict out, const float *restrict in, const float *restrict w,
                                       const float *restrict w2, const float *restrict mask, int h, int k, int dil,
                                       int relu, int accumulate) {
#define BODY(n_, k_, d_) do { if (relu) dw_rows_body(out, in, w, w2, mask, h, 2, k_, d_, 1, accumulate, 1); \
                              else dw_rows_body(out, in, w, w2, mask, h, 2, k_, d_, 0, accumulate, 1); } while (0)
    DW_SPECIALISED(BODY, 2, k, dil)
#undef BODY
}

/* Stride 2 ('same' padding, output (h-1)/2+1 by w/2) on the same widths: each input row split into
   its even and odd columns in registers; the tap at column 2*ox + c is the even half shifted by
   c/2 (c even) or the odd half shifted by (c-1)/2 (c odd). One output vector per row (half a
   vector for width 16: the halves' upper lanes are zeros, past the image). */
static int dw_direct_stride2(int h, int wd, int oh, int ow, int k, int stride, int pad, int dil) {
    return stride == 2 && (wd == VL || wd == 2 * VL) && oh == (h - 1) / 2 + 1 && ow == wd / 2 && (k == 3 || k == 5) &&
           (dil == 1 || dil == 2) && pad == dil * (k - 1) / 2;
}

/* e, o = the even and odd columns of input row iy (relu'd when asked). */
#define SPLIT_ROW(in, iy, nv, relu, e, o) do {                                                   \
        const float *row_ = (in) + (long)(iy) * (nv) * VL;                                       \
        v16 a_ = vld(row_), b_ = (nv) == 2 ? vld(row_ + VL) : vsplat(0);                          \
        a_ = VRELU_IF(a_, relu); b_ = VRELU_IF(b_, relu);                                        \
        e = EVENS(a_, b_); o = ODDS(a_, b_);                                                     \
    } while (0)
/* The tap at column offset c (constant) of a split row. */
#define SPLIT_TAP(e, o, c) ((c) % 2 == 0 ? SHIFTV(vsplat(0), e, vsplat(0), (c) / 2)              \
                                         : SHIFTV(vsplat(0), o, vsplat(0), ((c) - 1) / 2))

INLINE void dw2_forward_body(float *restrict y, const float *restrict x, const float *restrict w,
                             int h, int nv, int k, int dil, int relu) {
    int pad = dil * (k - 1) / 2, oh = (h - 1) / 2 + 1, n = nv * VL / 2;
    for (int oy = 0; oy < oh; oy++) {
        v16 acc[5];
        for (int ky = 0; ky < k; ky++) acc[ky] = vsplat(0);
        for (int ky = 0; ky < k; ky++) {
            int iy = 2 * oy + ky * dil - pad;
            if (iy < 0 || iy >= h) continue;
            v16 e, o;
            SPLIT_ROW(x, iy, nv, relu, e, o);
            for (int kx = 0; kx < k; kx++) acc[ky] += vsplat(w[ky * k + kx]) * SPLIT_TAP(e, o, kx * dil - pad);
        }
        v16 sum = acc[0];
        for (int ky = 1; ky < k; ky++) sum += acc[ky];
        VSTOREN(y + (long)oy * n, sum, n);
    }
}

/* dx row i gets, from each kernel row ky with i + pad - ky*dil = 2*oy, dy row oy spread back:
   even column 2l from the taps with pad - kx*dil even (dy column l + (pad - kx*dil)/2), odd
   column 2l+1 from the others (dy column l + (pad + 1 - kx*dil)/2); then the two interleaved. */
INLINE void dw2_backward_data_body(float *restrict dx, const float *restrict dy, const float *restrict w,
                                   const float *restrict mask, int h, int nv, int k, int dil) {
    int pad = dil * (k - 1) / 2, oh = (h - 1) / 2 + 1, n = nv * VL / 2, wd = nv * VL;
    v16 zero = vsplat(0);
    for (int i = 0; i < h; i++) {
        v16 ev = zero, od = zero;
        for (int ky = 0; ky < k; ky++) {
            int t = i + pad - ky * dil;
            if (t < 0 || t % 2 || t / 2 >= oh) continue;
            v16 g = VLOADN(dy + (long)(t / 2) * n, n, 0);
            for (int kx = 0; kx < k; kx++) {
                int c = pad - kx * dil;
                v16 wt = vsplat(w[ky * k + kx]);
                if (c % 2 == 0) ev += wt * SHIFTV(zero, g, zero, c / 2);
                else od += wt * SHIFTV(zero, g, zero, (c + 1) / 2);
            }
        }
        float *d = dx + (long)i * wd;
        v16 lo = ZIPLO(ev, od), hi = ZIPHI(ev, od);
        if (mask) {
            lo = VMASK(lo, vld(mask + (long)i * wd) > zero);
            if (nv == 2) hi = VMASK(hi, vld(mask + (long)i * wd + VL) > zero);
        }
        vst(d, vld(d) + lo);
        if (nv == 2) vst(d + VL, vld(d + VL) + hi);
    }
}

INLINE void dw2_weight_body(float *restrict dw, const float *restrict x, const float *restrict dy, int planes,
                            long x_step, long y_step, int h, int nv, int k, int dil, int relu) {
    int pad = dil * (k - 1) / 2, oh = (h - 1) / 2 + 1, n = nv * VL / 2;
    v16 acc[25];
    for (int t = 0; t < k * k; t++) acc[t] = vsplat(0);
    for (int p = 0; p < planes; p++) {
        const float *in = x + p * x_step, *g = dy + p * y_step;
        for (int oy = 0; oy < oh; oy++) {
            v16 gv = VLOADN(g + (long)oy * n, n, 0);
            for (int ky = 0; ky < k; ky++) {
                int iy = 2 * oy + ky * dil - pad;
                if (iy < 0 || iy >= h) continue;
                v16 e, o;
                SPLIT_ROW(in, iy, nv, relu, e, o);
                for (int kx = 0; kx < k; kx++) acc[ky * k + kx] += gv * SPLIT_TAP(e, o, kx * dil - pad);
            }
        }
    }
    for (int t = 0; t < k * k; t++) dw[t] += VSUM(acc[t]);
}

CLONES static void dw2_direct_forward(float *restrict y, const float *restrict x, const float *restrict w,
                                      int h, int wd, int k, int dil, int relu) {
#define BODY(n_, k_, d_) do { if (relu) dw2_forward_body(y, x, w, h, n_, k_, d_, 1); \
                              else dw2_forward_body(y, x, w, h, n_, k_, d_, 0); } while (0)
    DW_SPECIALISED(BODY, wd / VL, k, dil)
#undef BODY
}
CLONES static void dw2_direct_backward_data(float *restrict dx, const float *restrict dy, const float *restrict w,
                                            const float *restrict mask, int h, int wd, int k, int dil) {
#define BODY(n_, k_, d_) dw2_backward_data_body(dx, dy, w, mask, h, n_, k_, d_)
    DW_SPECIALISED(BODY, wd / VL, k, dil)
#undef BODY
}
CLONES static void dw2_direct_weight(float *restrict dw, const float *restrict x, const float *restrict dy, int planes,
                                     long x_step, long y_step, int h, int wd, int k, int dil, int relu) {
#define BODY(n_, k_, d_) do { if (relu) dw2_weight_body(dw, x, dy, planes, x_step, y_step, h, n_, k_, d_, 1); \
                              else dw2_weight_body(dw, x, dy, planes, x_step, y_step, h, n_, k_, d_, 0); } while (0)
    DW_SPECIALISED(BODY, wd / VL, k, dil)
#undef BODY
}

CLONES void nsas_dw_forward(float *y, const float *x, const float *w, float *scratch, int h, int wd, int oh, int ow,
                     int k, int stride, int pad, int dil, int relu) {
    if (dw_direct(h, wd, oh, ow, k, stride, pad, dil)) { dw_direct_rows(y, x, w, 0, h, wd, k, dil, relu, 0); return; }
    if (dw_direct_stride2(h, wd, oh, ow, k, stride, pad, dil)) { dw2_direct_forward(y, x, w, h, wd, k, dil, relu); return; }
    wide_t s = wide_sizes(h, wd, k, pad, dil);
    long buf = (long)s.hp * s.wp + slack(s, k, dil), off[49];
    float *xp = scratch, *yw = scratch + buf;
    padded_input(xp, x, s, h, wd, k, pad, dil, relu);
    if (stride == 2) { dw_forward_stride2(y, xp, w, scratch + buf, s, oh, ow, k, dil); return; }
    int taps = tap_offsets(off, k, dil, s.wp);
    wide_correlate(yw, xp, w, off, taps, s.span);
    gather_strided(y, yw, s.wp, oh, ow, stride);
}

CLONES void nsas_dw_backward_data_add(float *dx, const float *dy, const float *w, float *scratch, int h, int wd, int oh, int ow,
                               int k, int stride, int pad, int dil, const float *relu_input) {
    /* dxp[j] = sum_t w[t] * dyw[j - off[t]]: a correlation of the zero-extended upsampled dy with
       the flipped kernel. dyw sits `front` zeros into its buffer so that j - off[t] >= -front. */
    if (dw_direct(h, wd, oh, ow, k, stride, pad, dil)) {
        /* stride 1, 'same' padding: dx = the correlation of dy with the kernel turned by 180 degrees */
        float flipped_w[25];
        for (int t = 0; t < k * k; t++) flipped_w[t] = w[k * k - 1 - t];
        dw_direct_rows(dx, dy, flipped_w, relu_input, h, wd, k, dil, 0, 1);
        return;
    }
    if (dw_direct_stride2(h, wd, oh, ow, k, stride, pad, dil)) {
        dw2_direct_backward_data(dx, dy, w, relu_input, h, wd, k, dil);
        return;
    }
    wide_t s = wide_sizes(h, wd, k, pad, dil);
    long plane = (long)s.hp * s.wp, buf = plane + slack(s, k, dil), off[49], flipped[49];
    long front = (long)(k - 1) * dil * (s.wp + 1);
    float *dxp = scratch, *dyz = scratch + buf;
    int taps = tap_offsets(off, k, dil, s.wp);
    memset(dyz, 0, sizeof(float) * (size_t)(2 * buf));
    scatter_strided(dyz + front, dy, s.wp, s.oh1, oh, ow, stride);
    for (int t = 0; t < taps; t++) flipped[t] = front - off[t];
    wide_correlate(dxp, dyz, w, flipped, taps, plane);
    add_interior(dx, dxp, h, wd, pad, relu_input);
}

/* Planes first .. first+count-1 of an (N, C, h, w) tensor, plane p's kernel at w + (p % channels)*k*k:
   narrow planes (one vector wide) two at a time, the rest one by one. */
void nsas_dw_forward_planes(float *y, const float *x, const float *w, float *scratch, long first, int count, int channels,
                            int h, int wd, int oh, int ow, int k, int stride, int pad, int dil, int relu) {
    long xs = (long)h * wd, ys = (long)oh * ow, kk = (long)k * k;
    int p = 0;
    if (wd == VL && dw_direct(h, wd, oh, ow, k, stride, pad, dil))
        for (; p + 1 < count; p += 2) {
            long a = first + p;
            dw_direct_rows_pair(y + a * ys, x + a * xs, w + a % channels * kk, w + (a + 1) % channels * kk, 0, h, k, dil, relu, 0);
        }
    for (; p < count; p++) {
        long a = first + p;
        nsas_dw_forward(y + a * ys, x + a * xs, w + a % channels * kk, scratch, h, wd, oh, ow, k, stride, pad, dil, relu);
    }
}

void nsas_dw_backward_data_planes_add(float *dx, const float *dy, const float *w, float *scratch, long first, int count,
                                      int channels, int h, int wd, int oh, int ow, int k, int stride, int pad, int dil,
                                      const float *relu_input) {
    long xs = (long)h * wd, ys = (long)oh * ow, kk = (long)k * k;
    int p = 0;
    if (wd == VL && dw_direct(h, wd, oh, ow, k, stride, pad, dil))
        for (; p + 1 < count; p += 2) {
            long a = first + p;
            float fa[25], fb[25];
            const float *wa = w + a % channels * kk, *wb = w + (a + 1) % channels * kk;
            for (int t = 0; t < kk; t++) { fa[t] = wa[kk - 1 - t]; fb[t] = wb[kk - 1 - t]; }
            dw_direct_rows_pair(dx + a * xs, dy + a * ys, fa, fb, relu_input ? relu_input + a * xs : 0, h, k, dil, 0, 1);
        }
    for (; p < count; p++) {
        long a = first + p;
        nsas_dw_backward_data_add(dx + a * xs, dy + a * ys, w + a % channels * kk, scratch, h, wd, oh, ow, k, stride, pad, dil,
                                  relu_input ? relu_input + a * xs : 0);
    }
}

CLONES void nsas_dw_backward_weight_add(float *dw, const float *x, const float *dy, float *scratch, int h, int wd, int oh, int ow,
                                 int k, int stride, int pad, int dil, int relu) {
    wide_t s = wide_sizes(h, wd, k, pad, dil);
    long buf = (long)s.hp * s.wp + slack(s, k, dil), off[49];
    float *xp = scratch, *dyw = scratch + buf;
    padded_input(xp, x, s, h, wd, k, pad, dil, relu);
    if (stride == 2) { dw_weight_grad_stride2(dw, xp, dy, scratch + buf, s, oh, ow, k, dil); return; }
    memset(dyw, 0, sizeof(float) * (size_t)buf);
    scatter_strided(dyw, dy, s.wp, s.oh1, oh, ow, stride);
    int taps = tap_offsets(off, k, dil, s.wp);
    wide_weight_grad(dw, dyw, xp, off, taps, s.span);
}


/* dw (k x k) += sum over `planes` planes (x and dy `step` floats apart) and outputs of dy times the
   tap's input (relu'd when asked): every tap's accumulator stays in a register across the planes.
   Input rows are streamed, each shifted once per column tap; a shifted row meets the k rows of
   dy it belongs to (kernel row ky: output row iy + pad - ky*dil). */
INLINE void dw_weight_rows_body(float *restrict dw, const float *restrict x, const float *restrict dy, int planes, long step,
                                int h, int nv, int k, int dil, int relu) {
    int wd = nv * VL, pad = dil * (k - 1) / 2;
    v16 zero = vsplat(0), total[25];
    for (int t = 0; t < k * k; t++) total[t] = zero;
    /* One pass over a plane per group of at most three column taps (5x5: taps 0-2, then 3-4):
       its k*3 accumulators, the shifted rows and a dy row fit in registers, so each dy row is
       loaded once per group and used for every tap of the group. The plane is in cache for the
       second pass. */
#define TAP_GROUP(k0, kn) do {                                                                   \
        v16 acc[5][3];                                                                          \
        for (int ky = 0; ky < k; ky++)                                                          \
            for (int j = 0; j < (kn); j++) acc[ky][j] = total[ky * k + (k0) + j];                \
        for (int iy = 0; iy < h; iy++) {                                                        \
            v16 c[2];                                                                           \
            for (int v = 0; v < nv; v++) {                                                      \
                c[v] = VRELU_IF(vld(in + (long)iy * wd + v * VL), relu);                        \
            }                                                                                   \
            for (int v = 0; v < nv; v++) {                                                      \
                v16 sh[3];                                                                      \
                for (int j = 0; j < (kn); j++)                                                  \
                    sh[j] = SHIFTV(v > 0 ? c[v - 1] : zero, c[v], v + 1 < nv ? c[v + 1] : zero, ((k0) + j) * dil - pad); \
                for (int ky = 0; ky < k; ky++) {                                                \
                    int oy = iy + pad - ky * dil;                                               \
                    if (oy < 0 || oy >= h) continue;                                            \
                    v16 gv = vld(g + (long)oy * wd + v * VL);                                   \
                    for (int j = 0; j < (kn); j++) acc[ky][j] += gv * sh[j];                    \
                }                                                                               \
            }                                                                                   \
        }                                                                                       \
        for (int ky = 0; ky < k; ky++)                                                          \
            for (int j = 0; j < (kn); j++) total[ky * k + (k0) + j] = acc[ky][j];                \
    } while (0)
    for (int p = 0; p < planes; p++) {
        const float *in = x + p * step, *g = dy + p * step;
        if (k == 3) TAP_GROUP(0, 3);
        else { TAP_GROUP(0, 3); TAP_GROUP(3, 2); }
    }
#undef TAP_GROUP
    for (int t = 0; t < k * k; t++) dw[t] += VSUM(total[t]);
}

CLONES static void dw_direct_weight(float *restrict dw, const float *restrict x, const float *restrict dy, int planes, long step,
                                    int h, int wd, int k, int dil, int relu) {
#define BODY(n_, k_, d_) do { if (relu) dw_weight_rows_body(dw, x, dy, planes, step, h, n_, k_, d_, 1); \
                              else dw_weight_rows_body(dw, x, dy, planes, step, h, n_, k_, d_, 0); } while (0)
    DW_SPECIALISED(BODY, wd / VL, k, dil)
#undef BODY
}

void nsas_dw_backward_weight_planes_add(float *dw, const float *x, const float *dy, float *scratch, int planes,
                                        long x_step, long y_step, int h, int wd, int oh, int ow,
                                        int k, int stride, int pad, int dil, int relu) {
    if (dw_direct(h, wd, oh, ow, k, stride, pad, dil) && x_step == y_step) {
        dw_direct_weight(dw, x, dy, planes, x_step, h, wd, k, dil, relu);
        return;
    }
    if (dw_direct_stride2(h, wd, oh, ow, k, stride, pad, dil)) {
        dw2_direct_weight(dw, x, dy, planes, x_step, y_step, h, wd, k, dil, relu);
        return;
    }
    for (int p = 0; p < planes; p++)
        nsas_dw_backward_weight_add(dw, x + p * x_step, dy + p * y_step, scratch, h, wd, oh, ow, k, stride, pad, dil, relu);
}

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

/* Number of in-image taps along one axis of the window centred on c. */
static inline float taps3(int c, int n) { return (float)(imin(n - 1, c + 1) - imax(0, c - 1) + 1); }

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


/* Direct 3x3 pools for planes whose width is a multiple of 16 (the DARTS 32 and 16): a row of
   whole vectors at a time, the vertical taps as plain loads (a missing row at the border reads
   the centre row again for max, nothing for sums), the horizontal taps as in-register shifts by
   one lane, and stride 2 by splitting even and odd columns in registers. No padded copy, no
   wide buffers: the plane is read once and the output written once. */
static int pool3_direct(int h, int wd, int oh, int ow, int stride) {
    if (wd % VL || h < 1) return 0;
    if (stride == 1) return oh == h && ow == wd;
    return stride == 2 && oh == (h - 1) / 2 + 1 && ow == wd / 2;
}

/* inv[(t - 1) * ow + ox] = 1 / (t * taps of column ox): the average's divisor for a window with t rows. */
static void pool3_inverse_counts(float *inv, int wd, int ow, int stride) {
    for (int t = 1; t <= 3; t++)
        for (int ox = 0; ox < ow; ox++) inv[(t - 1) * ow + ox] = 1.0f / (float)(t * (int)taps3(ox * stride, wd));
}

/* y = 3x3 max or sum (times inv) of one plane, stride 1 or 2. */
INLINE void pool3_direct_forward_body(int is_max, float *restrict y, const float *restrict x, const float *restrict inv,
                                      int h, int wd, int oh, int ow, int stride, int nv) {
    v16 fill = is_max ? vsplat(-__builtin_inff()) : vsplat(0);
    for (int oy = 0; oy < oh; oy++) {
        int cy = oy * stride;
        const float *r1 = x + (long)cy * wd;
        const float *r0 = cy > 0 ? r1 - wd : 0, *r2 = cy + 1 < h ? r1 + wd : 0;
        const float *scale = inv + (long)((int)taps3(cy, h) - 1) * ow;
        float *yr = y + (long)oy * ow;
#define COLUMN(v) ({ v16 c_ = vld(r1 + (long)(v) * VL);                                              \
                     if (is_max) { if (r0) c_ = VMAX(vld(r0 + (long)(v) * VL), c_);                   \
                                   if (r2) c_ = VMAX(c_, vld(r2 + (long)(v) * VL)); }                 \
                     else { if (r0) c_ = vld(r0 + (long)(v) * VL) + c_; if (r2) c_ += vld(r2 + (long)(v) * VL); } \
                     c_; })
        if (stride == 1) {
            v16 prev = fill, cur = COLUMN(0);
            for (int v = 0; v < nv; v++) {
                v16 next = v + 1 < nv ? COLUMN(v + 1) : fill, out;
                if (is_max) out = VMAX(VMAX(SHL1(prev, cur), cur), SHR1(cur, next));
                else out = (SHL1(prev, cur) + cur + SHR1(cur, next)) * vld(scale + (long)v * VL);
                vst(yr + (long)v * VL, out);
                prev = cur; cur = next;
            }
        } else {
            /* Output ox reads columns 2ox-1, 2ox, 2ox+1: the odd column before, the even, the odd. */
            v16 oprev = fill;
            for (int v = 0; v < nv; v += 2) {
                v16 a = COLUMN(v), b = v + 1 < nv ? COLUMN(v + 1) : fill;
                v16 e = EVENS(a, b), o = ODDS(a, b), out;
                int n = v + 1 < nv ? VL : VL / 2;
                if (is_max) out = VMAX(VMAX(SHL1(oprev, o), e), o);
                else out = (SHL1(oprev, o) + e + o) * VLOADN(scale + (long)v / 2 * VL, n, 0);
                VSTOREN(yr + (long)v / 2 * VL, out, n);
                oprev = o;
            }
        }
#undef COLUMN
    }
}

/* m = the maximum of a, b, c (in the scalar kernels' order) and w = which of them (0, 1, 2) first holds it. */
#define MAX3_FIRST(a, b, c, m, w) do { m = VMAX(VMAX(a, b), c);                                        \
        w = VSEL((a) == m, vsplat(0), VSEL((b) == m, vsplat(1), vsplat(2))); } while (0)

/* Max pooling's gradient, routed to the first maximal tap in row-major order: the first row
   holding the window's maximum, then that row's first column holding it (see the wide kernel
   below). For rows wider than two vectors, three passes over small row buffers: row maxima at
   the centres' columns with their winning column; per window row its gradient split by winning
   row (three buffers); per input row the sum of its parts sent to the winning columns (for
   stride 2, even and odd columns interleaved back). */
INLINE void pool3_direct_max_backward_body(float *restrict dx, const float *restrict dy, const float *restrict x,
                                           float *restrict scratch, int h, int wd, int oh, int ow, int stride, int nv) {
    int nw = stride == 1 ? nv : (nv + 1) / 2;
    long rl = (long)nw * VL;
    /* the three buffers start at different offsets modulo 4 KiB (no false store-to-load aliasing) */
    float *rmax = scratch, *cwin = rmax + h * rl + 5 * VL, *grow = cwin + h * rl + 5 * VL;
    v16 ninf = vsplat(-__builtin_inff()), zero = vsplat(0), m, w;
    for (int r = 0; r < h; r++) {
        const float *xr = x + (long)r * wd;
        float *rm = rmax + r * rl, *cw = cwin + r * rl;
        if (stride == 1) {
            v16 prev = ninf, cur = vld(xr);
            for (int v = 0; v < nv; v++) {
                v16 next = v + 1 < nv ? vld(xr + (long)(v + 1) * VL) : ninf;
                MAX3_FIRST(SHL1(prev, cur), cur, SHR1(cur, next), m, w);
                vst(rm + (long)v * VL, m); vst(cw + (long)v * VL, w);
                prev = cur; cur = next;
            }
        } else {
            v16 oprev = ninf;
            for (int v = 0; v < nv; v += 2) {
                v16 a = vld(xr + (long)v * VL), b = v + 1 < nv ? vld(xr + (long)(v + 1) * VL) : ninf;
                v16 e = EVENS(a, b), o = ODDS(a, b);
                MAX3_FIRST(SHL1(oprev, o), e, o, m, w);
                vst(rm + (long)v / 2 * VL, m); vst(cw + (long)v / 2 * VL, w);
                oprev = o;
            }
        }
    }
    /* Per window row: its gradient where the window's maximum lies in its first, middle and last row. */
    long ol = (long)oh * rl;
    float *d0 = grow, *d1 = d0 + ol + 5 * VL, *d2 = d1 + ol + 5 * VL;
    for (int oy = 0; oy < oh; oy++) {
        int cy = oy * stride;
        const float *up = cy > 0 ? rmax + (cy - 1) * rl : 0, *mid = rmax + cy * rl, *dn = cy + 1 < h ? mid + rl : 0;
        for (int v = 0; v < nw; v++) {
            long o = (long)v * VL, i = oy * rl + o;
            int n = o + VL <= ow ? VL : VL / 2;
            v16 g = VLOADN(dy + (long)oy * ow + o, n, 0);
            MAX3_FIRST(up ? vld(up + o) : ninf, vld(mid + o), dn ? vld(dn + o) : ninf, m, w);
            vst(d0 + i, VMASK(g, w == zero)); vst(d1 + i, VMASK(g, w == vsplat(1))); vst(d2 + i, VMASK(g, w == vsplat(2)));
        }
    }
    for (int r = 0; r < h; r++) {
        /* The row's gradient: from the windows centred on it (their middle row) and on its
           neighbours (their first or last row); then sent to the winning columns. */
        const float *ga = 0, *gb = 0, *gc = 0, *cw = cwin + r * rl;
        if (stride == 1) {
            gb = d1 + r * rl;
            if (r + 1 < oh) ga = d0 + (r + 1) * rl;
            if (r > 0) gc = d2 + (r - 1) * rl;
        } else if (r % 2 == 0) gb = d1 + r / 2 * rl;
        else {
            gc = d2 + r / 2 * rl;
            if (r / 2 + 1 < oh) ga = d0 + (r / 2 + 1) * rl;
        }
        float *dr = dx + (long)r * wd;
#define GROW(o) ({ v16 t_ = gb ? vld(gb + (o)) : zero; if (ga) t_ += vld(ga + (o)); if (gc) t_ += vld(gc + (o)); t_; })
        v16 g = GROW(0), wc = vld(cw), m2prev = zero;
        for (int v = 0; v < nw; v++) {
            long o = (long)v * VL;
            v16 gn = v + 1 < nw ? GROW(o + VL) : zero, wn = v + 1 < nw ? vld(cw + o + VL) : zero;
            v16 m0 = VMASK(g, wc == zero), m1 = VMASK(g, wc == vsplat(1)), m2 = VMASK(g, wc == vsplat(2));
            v16 m0next = VMASK(gn, wn == zero);
            if (stride == 1) {
                vst(dr + o, vld(dr + o) + m1 + SHR1(m0, m0next) + SHL1(m2prev, m2));
            } else {
                v16 odd = m2 + SHR1(m0, m0next);
                float *d = dr + 2 * o;
                vst(d, vld(d) + ZIPLO(m1, odd));
                if (2 * o + VL < wd) vst(d + VL, vld(d + VL) + ZIPHI(m1, odd));
            }
            m2prev = m2; g = gn; wc = wn;
        }
#undef GROW
    }
}

/* Stride 1 with rows of one or two vectors (widths 16 and 32), the common case, in one pass
   with everything in registers: row maxima two rows ahead, window row r + 1's gradient split by
   winning row, and input row r, then complete, sent to its winning columns. */
#define SPLIT_MAX 2
INLINE void pool3_max_backward_s1_body(float *restrict dx, const float *restrict dy, const float *restrict x,
                                       int h, int nv) {
    int wd = nv * VL;
    v16 ninf = vsplat(-__builtin_inff()), zero = vsplat(0), m, w;
    v16 r0[SPLIT_MAX], r1[SPLIT_MAX], r2[SPLIT_MAX], w0[SPLIT_MAX], w1[SPLIT_MAX], w2[SPLIT_MAX];
    v16 d1[SPLIT_MAX], d2[SPLIT_MAX], d2prev[SPLIT_MAX], n0[SPLIT_MAX], n1[SPLIT_MAX], n2[SPLIT_MAX];
    /* rm, wn = row r's maxima over each three columns and which column (0, 1, 2) first holds them */
#define ROWMAX(r, rm, wn) do {                                                                    \
        if ((r) < h) {                                                                          \
            const float *xr_ = x + (long)(r) * wd;                                              \
            v16 prev_ = ninf, cur_ = vld(xr_);                                                  \
            for (int v = 0; v < nv; v++) {                                                      \
                v16 next_ = v + 1 < nv ? vld(xr_ + (v + 1) * VL) : ninf;                         \
                MAX3_FIRST(SHL1(prev_, cur_), cur_, SHR1(cur_, next_), rm[v], wn[v]);             \
                prev_ = cur_; cur_ = next_;                                                     \
            }                                                                                   \
        } else for (int v = 0; v < nv; v++) { rm[v] = ninf; wn[v] = zero; }                     \
    } while (0)
    /* e0, e1, e2 = window row oy's gradient where its maximum lies in its first, middle, last row */
#define SPLIT(oy, up, mid, dn, e0, e1, e2) for (int v = 0; v < nv; v++) {                          \
        m = VMAX(VMAX(up[v], mid[v]), dn[v]);                                                     \
        v16 g_ = vld(dy + (long)(oy) * wd + v * VL);                                              \
        i16 f0_ = up[v] == m, f1_ = (mid[v] == m) & ~f0_;   /* first row holding the maximum */   \
        e0[v] = VMASK(g_, f0_); e1[v] = VMASK(g_, f1_); e2[v] = VMASK(g_, ~(f0_ | f1_)); }
    for (int v = 0; v < nv; v++) { r2[v] = ninf; d2prev[v] = zero; }
    ROWMAX(0, r0, w0);
    ROWMAX(1, r1, w1);
    SPLIT(0, r2, r0, r1, n0, d1, d2)
    for (int r = 0; r < h; r++) {
        ROWMAX(r + 2, r2, w2);
        if (r + 1 < h) { SPLIT(r + 1, r0, r1, r2, n0, n1, n2) }
        else for (int v = 0; v < nv; v++) n0[v] = n1[v] = n2[v] = zero;
        float *dr = dx + (long)r * wd;
        v16 g = n0[0] + d1[0] + d2prev[0], m2prev = zero, m0 = VMASK(g, w0[0] == zero);
        for (int v = 0; v < nv; v++) {
            v16 gn = v + 1 < nv ? n0[v + 1] + d1[v + 1] + d2prev[v + 1] : zero;
            v16 m0next = v + 1 < nv ? VMASK(gn, w0[v + 1] == zero) : zero;
            i16 c0 = w0[v] == zero, c1 = w0[v] == vsplat(1);
            v16 m1 = VMASK(g, c1), m2 = VMASK(g, ~(c0 | c1));
            vst(dr + v * VL, vld(dr + v * VL) + m1 + SHR1(m0, m0next) + SHL1(m2prev, m2));
            m2prev = m2; m0 = m0next; g = gn;
        }
        for (int v = 0; v < nv; v++) {
            r0[v] = r1[v]; r1[v] = r2[v]; w0[v] = w1[v]; w1[v] = w2[v];
            d2prev[v] = d2[v]; d1[v] = n1[v]; d2[v] = n2[v];
        }
    }
#undef ROWMAX
#undef SPLIT
}

/* Stride 2 on the same widths in one pass: window row oy reads input rows 2oy-1, 2oy, 2oy+1; an
   even input row belongs to one window (as its middle row), an odd one to two (the last row of
   one, the first of the next). Row maxima at the windows' centre columns (even and odd columns
   split in registers); each input row's gradient, once complete, goes to its winning columns and
   is interleaved back into even and odd columns. */
INLINE void pool3_max_backward_s2_body(float *restrict dx, const float *restrict dy, const float *restrict x,
                                       int h, int nv) {
    int wd = nv * VL, oh = (h - 1) / 2 + 1, n = wd / 2;
    v16 ninf = vsplat(-__builtin_inff()), zero = vsplat(0), m, w;
    /* rm, wn = input row r's maxima over columns 2ox-1..2ox+1 and which of them first holds it */
#define ROWMAX2(r, rm, wn) do {                                                                   \
        const float *xr_ = x + (long)(r) * wd;                                                  \
        v16 a_ = vld(xr_), b_ = nv == 2 ? vld(xr_ + VL) : ninf;                                  \
        v16 e_ = EVENS(a_, b_), o_ = ODDS(a_, b_);                                              \
        MAX3_FIRST(SHL1(ninf, o_), e_, o_, rm, wn);                                             \
    } while (0)
    /* dx row r += gradient g of its row maxima, sent to the winning columns (codes wn) */
#define ROUTE2(r, g, wn) do {                                                                     \
        i16 c0_ = (wn) == zero, c1_ = (wn) == vsplat(1);                                        \
        v16 m0_ = VMASK(g, c0_), m1_ = VMASK(g, c1_), m2_ = VMASK(g, ~(c0_ | c1_));              \
        v16 odd_ = m2_ + SHR1(m0_, zero);                                                       \
        float *d_ = dx + (long)(r) * wd;                                                        \
        vst(d_, vld(d_) + ZIPLO(m1_, odd_));                                                    \
        if (nv == 2) vst(d_ + VL, vld(d_ + VL) + ZIPHI(m1_, odd_));                              \
    } while (0)
    v16 rup = ninf, wup = zero, carry = zero;   /* row 2oy-1: maxima, codes, gradient so far */
    for (int oy = 0; oy < oh; oy++) {
        int r = 2 * oy;
        v16 rmid, wmid, rdn = ninf, wdn = zero;
        ROWMAX2(r, rmid, wmid);
        if (r + 1 < h) ROWMAX2(r + 1, rdn, wdn);
        MAX3_FIRST(rup, rmid, rdn, m, w);
        v16 g = VLOADN(dy + (long)oy * n, n, 0);
        i16 f0 = w == zero, f1 = w == vsplat(1);
        v16 d0 = VMASK(g, f0), d1 = VMASK(g, f1), d2 = VMASK(g, ~(f0 | f1));
        if (oy > 0) ROUTE2(r - 1, carry + d0, wup);
        ROUTE2(r, d1, wmid);
        rup = rdn; wup = wdn; carry = d2;
    }
    if (2 * oh - 1 < h) ROUTE2(2 * oh - 1, carry, wup);
#undef ROWMAX2
#undef ROUTE2
}

/* Average pooling's gradient: dx = the 3x3 box sum of dy / count (stride 1), or of dy spread to
   the even positions (stride 2: an even input row or column lies in one window, an odd one in two). */
INLINE void pool3_direct_avg_backward_body(float *restrict dx, const float *restrict dy, const float *restrict inv,
                                           int h, int wd, int oh, int ow, int stride, int nv) {
    v16 zero = vsplat(0);
#define SCALED(oy, o, n) (VLOADN(dy + (long)(oy) * ow + (o), n, 0) * VLOADN(inv + (long)((int)taps3((oy) * stride, h) - 1) * ow + (o), n, 0))
    for (int i = 0; i < h; i++) {
        float *dr = dx + (long)i * wd;
        if (stride == 1) {
#define COLSUM(v) ({ long o_ = (long)(v) * VL; v16 s_ = SCALED(i, o_, VL);                   \
                     if (i > 0) s_ += SCALED(i - 1, o_, VL); if (i + 1 < h) s_ += SCALED(i + 1, o_, VL); s_; })
            v16 prev = zero, cur = COLSUM(0);
            for (int v = 0; v < nv; v++) {
                v16 next = v + 1 < nv ? COLSUM(v + 1) : zero;
                vst(dr + (long)v * VL, vld(dr + (long)v * VL) + SHL1(prev, cur) + cur + SHR1(cur, next));
                prev = cur; cur = next;
            }
#undef COLSUM
        } else {
            int a = i / 2, two = i % 2 && a + 1 < oh, nw = (nv + 1) / 2;
#define ROWSUM(v) ({ long o_ = (long)(v) * VL; int n_ = o_ + VL <= ow ? VL : VL / 2;          \
                     v16 s_ = SCALED(a, o_, n_); if (two) s_ += SCALED(a + 1, o_, n_); s_; })
            v16 u = ROWSUM(0);
            for (int v = 0; v < nw; v++) {
                v16 unext = v + 1 < nw ? ROWSUM(v + 1) : zero, t = u + SHR1(u, unext);
                float *d = dr + (long)v * 2 * VL;
                vst(d, vld(d) + ZIPLO(u, t));
                if ((long)v * 2 * VL + VL < wd) vst(d + VL, vld(d + VL) + ZIPHI(u, t));
                u = unext;
            }
#undef ROWSUM
        }
    }
#undef SCALED
}

/* The direct kernels compiled for each stride and for rows of one and two vectors (widths 16
   and 32: their row loops unroll completely), and for any other width. */
#define DIRECT_SPECIALISED(body)                                                                \
    int nv = wd / VL;                                                                           \
    if (stride == 1) { if (nv == 1) body(1, 1); else if (nv == 2) body(1, 2); else body(1, nv); } \
    else { if (nv == 1) body(2, 1); else if (nv == 2) body(2, 2); else body(2, nv); }

CLONES static void pool3_direct_forward(int is_max, float *restrict y, const float *restrict x, const float *restrict inv,
                                        int h, int wd, int oh, int ow, int stride) {
#define BODY(st, n) do { if (is_max) pool3_direct_forward_body(1, y, x, inv, h, wd, oh, ow, st, n); \
                         else pool3_direct_forward_body(0, y, x, inv, h, wd, oh, ow, st, n); } while (0)
    DIRECT_SPECIALISED(BODY)
#undef BODY
}
CLONES static void pool3_direct_max_backward(float *restrict dx, const float *restrict dy, const float *restrict x,
                                             float *restrict scratch, int h, int wd, int oh, int ow, int stride) {
    /* widths 16 and 32 in one register-resident pass; wider rows through row buffers */
    if (stride == 1 && wd == VL) pool3_max_backward_s1_body(dx, dy, x, h, 1);
    else if (stride == 1 && wd == 2 * VL) pool3_max_backward_s1_body(dx, dy, x, h, 2);
    else if (stride == 2 && wd == VL) pool3_max_backward_s2_body(dx, dy, x, h, 1);
    else if (stride == 2 && wd == 2 * VL) pool3_max_backward_s2_body(dx, dy, x, h, 2);
    else if (stride == 1) pool3_direct_max_backward_body(dx, dy, x, scratch, h, wd, oh, ow, 1, wd / VL);
    else pool3_direct_max_backward_body(dx, dy, x, scratch, h, wd, oh, ow, 2, wd / VL);
}
CLONES static void pool3_direct_avg_backward(float *restrict dx, const float *restrict dy, const float *restrict inv,
                                             int h, int wd, int oh, int ow, int stride) {
#define BODY(st, n) pool3_direct_avg_backward_body(dx, dy, inv, h, wd, oh, ow, st, n)
    DIRECT_SPECIALISED(BODY)
#undef BODY
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

/* Small-dimension matrix products for 1x1 convolutions, where OpenBLAS's packing of a thin
   matrix costs more than the product. Sixteen rows of the output live in registers. */

INLINE void gemm_rows16_body(float *c, const float *a, long sam, long sak, const float *b,
                             int m, int k, long n, int accumulate, int relu_b,
                             const float *scale, const float *shift, const float *mask) {
    for (int m0 = 0; m0 < m; m0 += 16) {
        const float *arow = a + (long)m0 * sam;
        for (long p = 0; p < n; p += VL) {
            v16 acc[16];
            /* accumulating: from c's values (with a mask: the masked product is added at the end) */
            for (int j = 0; j < 16; j++) acc[j] = accumulate && !mask ? vld(c + (long)(m0 + j) * n + p) : vsplat(0);
            for (int q = 0; q < k; q++) {
                v16 bv = vld(b + (long)q * n + p);
                if (relu_b) bv = __builtin_elementwise_max(bv, vsplat(0));
                const float *aq = arow + (long)q * sak;
                for (int j = 0; j < 16; j++) acc[j] += aq[(long)j * sam] * bv;
            }
            for (int j = 0; j < 16; j++) {
                float *cj = c + (long)(m0 + j) * n + p;
                v16 r = acc[j];
                if (scale) r = r * vsplat(scale[m0 + j]) + vsplat(shift[m0 + j]);
                if (mask) r = vld(cj) + VMASK(r, vld(mask + (long)(m0 + j) * n + p) > vsplat(0));
                vst(cj, r);
            }
        }
    }
}

CLONES void nsas_gemm_rows16_affine(float *c, const float *a, long sam, long sak, const float *b,
                                    int m, int k, long n, int accumulate, int relu_b,
                                    const float *scale, const float *shift) {
    gemm_rows16_body(c, a, sam, sak, b, m, k, n, accumulate, relu_b, scale, shift, 0);
}

CLONES void nsas_gemm_rows16_mask_add(float *c, const float *a, long sam, long sak, const float *b,
                                      int m, int k, long n, const float *mask) {
    gemm_rows16_body(c, a, sam, sak, b, m, k, n, 1, 0, 0, 0, mask);
}

CLONES void nsas_gemm_rows16(float *c, const float *a, long sam, long sak, const float *b,
                             int m, int k, long n, int accumulate, int relu_b) {
    nsas_gemm_rows16_affine(c, a, sam, sak, b, m, k, n, accumulate, relu_b, 0, 0);
}

/* c (m,n) += sum over count pairs of a_i (m,k) times b_i (n,k) transposed (b read as relu(b)
   when asked), a_i = a + i*a_step, b_i = b + i*b_step: the weight gradient of a 1x1 convolution
   over a batch (dy times x transposed). Image by image (its rows stay in cache while every block
   reads them), blocks of 4 x 4 outputs keep 16 running vector sums over k in registers; the sums
   carry over images in `scratch` (m*n vectors) and are reduced once at the end.
   m % 4 == 0, n % 4 == 0, k % 16 == 0. */
CLONES void nsas_gemm_nt_batched_add(float *c, float *scratch, const float *a, long a_step, const float *b, long b_step,
                                     int m, int n, long k, int count, int relu_b) {
    v16 zero = vsplat(0);
    for (long t = 0; t < (long)m * n; t++) vst(scratch + t * VL, zero);
    for (int img = 0; img < count; img++)
        for (int i0 = 0; i0 < m; i0 += 4)
            for (int j0 = 0; j0 < n; j0 += 4) {
                const float *ai = a + img * a_step + (long)i0 * k, *bj = b + img * b_step + (long)j0 * k;
                float *sums = scratch + ((long)i0 * n + (long)j0 * 4) * VL;   /* the block's 16 vectors */
                v16 acc[4][4];
                for (int i = 0; i < 4; i++)
                    for (int j = 0; j < 4; j++) acc[i][j] = vld(sums + (i * 4 + j) * VL);
                for (long p = 0; p < k; p += VL) {
                    v16 av[4], bv[4];
                    for (int i = 0; i < 4; i++) av[i] = vld(ai + i * k + p);
                    for (int j = 0; j < 4; j++) {
                        bv[j] = VRELU_IF(vld(bj + j * k + p), relu_b);
                    }
                    for (int i = 0; i < 4; i++)
                        for (int j = 0; j < 4; j++) acc[i][j] += av[i] * bv[j];
                }
                for (int i = 0; i < 4; i++)
                    for (int j = 0; j < 4; j++) vst(sums + (i * 4 + j) * VL, acc[i][j]);
            }
    for (int i0 = 0; i0 < m; i0 += 4)
        for (int j0 = 0; j0 < n; j0 += 4)
            for (int i = 0; i < 4; i++)
                for (int j = 0; j < 4; j++)
                    c[(long)(i0 + i) * n + j0 + j] += VSUM(vld(scratch + ((long)i0 * n + (long)j0 * 4 + i * 4 + j) * VL));
}

/* The im2col and col2im of a 1x1 convolution with a stride and no padding (FactorizedReduce):
   dst (planes, oh, ow) = src (planes, h, w) at rows oy*sy and columns ox*sx (relu'd when asked),
   and its adjoint, dst at those positions += src (only where mask > 0 when a mask is given).
   Stride-2 columns by splitting even and odd columns in registers where a row allows. */
CLONES void nsas_gather_strided(float *restrict dst, const float *restrict src, int planes, int h, int w,
                                int oh, int ow, int sy, int sx, int relu) {
    for (long p = 0; p < planes; p++)
        for (int oy = 0; oy < oh; oy++) {
            const float *restrict row = src + (p * h + (long)oy * sy) * w;
            float *restrict d = dst + (p * oh + oy) * (long)ow;
            int ox = 0;
            if (sx == 2)
                for (; 2 * (ox + VL) <= w; ox += VL) {
                    v16 e = EVENS(vld(row + 2 * ox), vld(row + 2 * ox + VL));
                    vst(d + ox, relu ? __builtin_elementwise_max(e, vsplat(0)) : e);
                }
            for (; ox < ow; ox++) {
                float v = row[(long)ox * sx];
                d[ox] = relu && !(v > 0) ? 0 : v;
            }
        }
}

CLONES void nsas_scatter_strided_add(float *restrict dst, const float *restrict src, int planes, int h, int w,
                                     int oh, int ow, int sy, int sx, const float *restrict mask) {
    v16 zero = vsplat(0);
    for (long p = 0; p < planes; p++)
        for (int oy = 0; oy < oh; oy++) {
            long r = (p * h + (long)oy * sy) * w;
            float *restrict row = dst + r;
            const float *restrict m = mask ? mask + r : 0;
            const float *restrict g = src + (p * oh + oy) * (long)ow;
            int ox = 0;
            if (sx == 2)
                for (; 2 * (ox + VL) <= w; ox += VL) {
                    v16 v = vld(g + ox), lo = ZIPLO(v, zero), hi = ZIPHI(v, zero);
                    if (m) {
                        lo = VMASK(lo, vld(m + 2 * ox) > zero);
                        hi = VMASK(hi, vld(m + 2 * ox + VL) > zero);
                    }
                    vst(row + 2 * ox, vld(row + 2 * ox) + lo);
                    vst(row + 2 * ox + VL, vld(row + 2 * ox + VL) + hi);
                }
            for (; ox < ow; ox++) {
                long i = (long)ox * sx;
                if (!m || m[i] > 0) row[i] += g[ox];
            }
        }
}

/* Elementwise kernels of the fast backend (the Swift loops of the reference define them). */
CLONES void nsas_relu(float *restrict y, const float *restrict x, long n) {
    for (long i = 0; i < n; i++) y[i] = x[i] > 0 ? x[i] : 0;
}
CLONES void nsas_relu_backward_add(float *restrict dx, const float *restrict dy, const float *restrict x, long n) {
    for (long i = 0; i < n; i++) dx[i] += x[i] > 0 ? dy[i] : 0;
}
CLONES void nsas_add(float *restrict z, const float *restrict a, const float *restrict b, long n) {
    for (long i = 0; i < n; i++) z[i] = a[i] + b[i];
}
CLONES void nsas_sub(float *restrict z, const float *restrict a, const float *restrict b, long n) {
    for (long i = 0; i < n; i++) z[i] = a[i] - b[i];
}
CLONES void nsas_mul(float *restrict z, const float *restrict a, const float *restrict b, long n) {
    for (long i = 0; i < n; i++) z[i] = a[i] * b[i];
}


/* exp(x) for float, Cephes's expf: x = n ln2 + r with |r| <= ln2/2, a degree-6 polynomial for
   exp(r), 2^n put into the exponent bits. Relative error about 1e-7; inputs are clamped to
   [-87.3, 88.7] (the result never reaches zero or infinity). Written as plain scalar code so the
   loops that call it vectorise. */
static inline float nsas_expf(float x) {
    x = x < -87.3f ? -87.3f : (x > 88.7f ? 88.7f : x);
    float n = __builtin_floorf(x * 1.44269504088896341f + 0.5f);
    float r = x - n * 0.693359375f + n * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    union { int i; float f; } scale = { .i = ((int)n + 127) << 23 };   /* 2^n (a union: -fno-builtin keeps memcpy a call) */
    return p * scale.f;
}

CLONES void nsas_log_softmax_rows(float *restrict y, const float *restrict x, long rows, long c) {
    for (long r = 0; r < rows; r++) {
        const float *xr = x + r * c;
        float *yr = y + r * c;
        float m = -__builtin_inff();
        long j0 = 0;
        if (c >= VL) {   /* the row maximum 16 lanes at a time */
            v16 mv = vld(xr);
            for (j0 = VL; j0 + VL <= c; j0 += VL) mv = __builtin_elementwise_max(mv, vld(xr + j0));
            for (int l = 0; l < VL; l++) m = mv[l] > m ? mv[l] : m;
        }
        for (long j = j0; j < c; j++) m = xr[j] > m ? xr[j] : m;
        float z = 0;
        {
            REASSOC
            for (long j = 0; j < c; j++) z += nsas_expf(xr[j] - m);
        }
        float lse = m + __builtin_logf(z);
        for (long j = 0; j < c; j++) yr[j] = xr[j] - lse;
    }
}

CLONES void nsas_log_softmax_backward_add(float *restrict dx, const float *restrict dy, const float *restrict y, long rows, long c) {
    for (long r = 0; r < rows; r++) {
        const float *dyr = dy + r * c, *yr = y + r * c;
        float *dxr = dx + r * c;
        float s = 0;
        {
            REASSOC
            for (long j = 0; j < c; j++) s += dyr[j];
        }
        for (long j = 0; j < c; j++) dxr[j] += dyr[j] - nsas_expf(yr[j]) * s;
    }
}
