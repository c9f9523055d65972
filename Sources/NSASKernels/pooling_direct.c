/* Direct 3x3 pool kernels for planes whose width is a whole number of vectors (other widths up
   to 32 are staged into such rows by pooling.c). */
#include "kernels_internal.h"
#include <string.h>

/* Direct 3x3 pools for planes whose width is a multiple of 16 (the DARTS 32 and 16): a row of
   whole vectors at a time, the vertical taps as plain loads (a missing row at the border reads
   the centre row again for max, nothing for sums), the horizontal taps as in-register shifts by
   one lane, and stride 2 by splitting even and odd columns in registers. No padded copy, no
   wide buffers: the plane is read once and the output written once. */
HIDDEN int pool3_direct(int h, int wd, int oh, int ow, int stride) {
    if (wd % VL || h < 1) return 0;
    if (stride == 1) return oh == h && ow == wd;
    return stride == 2 && oh == (h - 1) / 2 + 1 && ow == wd / 2;
}

/* inv[(t - 1) * ow + ox] = 1 / (t * taps of column ox): the average's divisor for a window with t rows. */
HIDDEN void pool3_inverse_counts(float *inv, int wd, int ow, int stride) {
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

HIDDEN CLONES void pool3_direct_forward(int is_max, float *restrict y, const float *restrict x, const float *restrict inv,
                                        int h, int wd, int oh, int ow, int stride) {
#define BODY(st, n) do { if (is_max) pool3_direct_forward_body(1, y, x, inv, h, wd, oh, ow, st, n); \
                         else pool3_direct_forward_body(0, y, x, inv, h, wd, oh, ow, st, n); } while (0)
    DIRECT_SPECIALISED(BODY)
#undef BODY
}
HIDDEN CLONES void pool3_direct_max_backward(float *restrict dx, const float *restrict dy, const float *restrict x,
                                             float *restrict scratch, int h, int wd, int oh, int ow, int stride) {
    /* widths 16 and 32 in one register-resident pass; wider rows through row buffers */
    if (stride == 1 && wd == VL) pool3_max_backward_s1_body(dx, dy, x, h, 1);
    else if (stride == 1 && wd == 2 * VL) pool3_max_backward_s1_body(dx, dy, x, h, 2);
    else if (stride == 2 && wd == VL) pool3_max_backward_s2_body(dx, dy, x, h, 1);
    else if (stride == 2 && wd == 2 * VL) pool3_max_backward_s2_body(dx, dy, x, h, 2);
    else if (stride == 1) pool3_direct_max_backward_body(dx, dy, x, scratch, h, wd, oh, ow, 1, wd / VL);
    else pool3_direct_max_backward_body(dx, dy, x, scratch, h, wd, oh, ow, 2, wd / VL);
}
HIDDEN CLONES void pool3_direct_avg_backward(float *restrict dx, const float *restrict dy, const float *restrict inv,
                                             int h, int wd, int oh, int ow, int stride) {
#define BODY(st, n) pool3_direct_avg_backward_body(dx, dy, inv, h, wd, oh, ow, st, n)
    DIRECT_SPECIALISED(BODY)
#undef BODY
}
