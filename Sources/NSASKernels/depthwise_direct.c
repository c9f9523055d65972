/* Direct depthwise row kernels: planes at most two vectors wide (stride 1), or one or two whole
   vectors wide (stride 2). */
#include "kernels_internal.h"
#include <string.h>

/* Direct depthwise kernels for stride 1 with 'same' padding on planes at most two vectors wide
   (widths 16 and 32: the DARTS cells' first two stages at 32x32; 28, 14 and 7 at 28x28), kernel 3
   or 5, dilation 1 or 2, each compiled for its sizes. A row at a time: each kernel row's input row
   is loaded once, its column taps made by lane shifts in registers (zeros past the row's ends),
   the vertical taps by reading the neighbouring rows (missing rows skipped). No padded copy, no
   wide buffers. Accumulators per (kernel row, vector) keep independent FMA chains. Widths that
   are not whole vectors load their last vector masked (ROW_LOAD near the plane's end) and store
   it in pieces (STORE_PIECES); whole-vector widths are compiled apart, without those masks. */
HIDDEN int dw_direct(int h, int wd, int oh, int ow, int k, int stride, int pad, int dil) {
    return stride == 1 && wd >= 1 && wd <= 2 * VL && oh == h && ow == wd && (k == 3 || k == 5) &&
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
                         const float *restrict mask, int h, int nv, int k, int dil, int relu, int accumulate, int pair,
                         int full, int wd) {
    /* pair: two planes one vector wide side by side (consecutive planes, kernels w and w2), as
       the two vectors of a row: twice the independent FMA chains of one narrow plane.
       full: the width is nv whole vectors; else wd, the last vector's lanes past it zero. */
    int rs = pair ? VL : full ? nv * VL : wd, pad = dil * (k - 1) / 2;
    int tail = full ? VL : wd - (nv - 1) * VL;
    long ps = (long)h * VL, plane = (long)h * rs;
    /* A partial last vector is loaded as a half or whole vector and masked, in the rows where that
       load ends within the plane (the first `safe` rows), else through ROW_LOAD; stored in pieces. */
    int span = (nv - 1) * VL + (tail <= VL / 2 ? VL / 2 : VL);
    int safe = full ? h : imin(h, plane < span ? 0 : (int)((plane - span) / rs) + 1);
    i16 tmask = LANES_BELOW(tail);
#define AT(base, row, v) ((base) + (long)(row) * rs + (pair ? (v) * ps : (long)(v) * VL))
#define ROOM(row, v) (plane - (long)(row) * rs - (long)(v) * VL)
#define PARTIAL(v) (!full && (v) == nv - 1)
    int half = !full && wd == VL / 2;   /* rows of 8: half-vector loads, nothing to mask */
#define LOAD(base, row, v) (!PARTIAL(v) ? vld(AT(base, row, v)) : half ? VLOADN(AT(base, row, v), VL / 2, 0)        \
                            : (row) < safe ? VMASK(tail <= VL / 2 ? VLOADN(AT(base, row, v), VL / 2, 0)    \
                                                                   : vld(AT(base, row, v)), tmask)          \
                            : ROW_LOAD(AT(base, row, v), tail, ROOM(row, v)))
    v16 zero = vsplat(0);
    for (int q = 0; q < dil && q < h; q++) {
        int last = q + (h - 1 - q) / dil * dil;   /* the stream's last output row */
        v16 acc[5][2];
        for (int sl = 0; sl < k; sl++)
            for (int v = 0; v < nv; v++) acc[sl][v] = zero;
        for (int iy = q - pad; iy <= last + pad; iy += dil) {
            if (iy >= 0 && iy < h) {
                v16 c[2];
                for (int v = 0; v < nv; v++) c[v] = VRELU_IF(LOAD(in, iy, v), relu);
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
                    if (mask) sum = VMASK(sum, LOAD(mask, oy, v) > zero);
                    if (!PARTIAL(v)) vst(o, accumulate ? vld(o) + sum : sum);
                    else if (half) VSTOREN(o, accumulate ? VLOADN(o, VL / 2, 0) + sum : sum, VL / 2);
                    else STORE_PIECES(o, accumulate ? LOAD(out, oy, v) + sum : sum, tail);
                }
            for (int sl = 0; sl + 1 < k; sl++)
                for (int v = 0; v < nv; v++) acc[sl][v] = acc[sl + 1][v];
            for (int v = 0; v < nv; v++) acc[k - 1][v] = zero;
        }
    }
#undef LOAD
#undef PARTIAL
#undef ROOM
#undef AT
}

/* The bodies compiled for each (width in vectors, kernel, dilation). */
#define DW_SPECIALISED(body, nv, k, dil)                                                        \
    if (nv == 1) { if (k == 3) { if (dil == 1) body(1, 3, 1); else body(1, 3, 2); }             \
                   else { if (dil == 1) body(1, 5, 1); else body(1, 5, 2); } }                  \
    else { if (k == 3) { if (dil == 1) body(2, 3, 1); else body(2, 3, 2); }                     \
           else { if (dil == 1) body(2, 5, 1); else body(2, 5, 2); } }
/* Vectors a row of width wd takes (1 or 2), and whether they are whole. */
#define DW_VECTORS(wd) ((wd) > VL ? 2 : 1)
#define DW_WHOLE(wd) ((wd) % VL == 0)
/* The bodies for whole-vector widths (BODY) and the others (PART), per width in vectors, kernel
   and dilation. */
#define DW_DISPATCH(BODY, PART) do {                                                              \
        if (DW_WHOLE(wd)) DW_SPECIALISED(BODY, DW_VECTORS(wd), k, dil)                            \
        else DW_SPECIALISED(PART, DW_VECTORS(wd), k, dil)                                         \
    } while (0)

HIDDEN CLONES void dw_direct_rows(float *restrict out, const float *restrict in, const float *restrict w,
                                  const float *restrict mask, int h, int wd, int k, int dil, int relu, int accumulate) {
#define BODY(n_, k_, d_) do { if (relu) dw_rows_body(out, in, w, w, mask, h, n_, k_, d_, 1, accumulate, 0, 1, wd); \
                              else dw_rows_body(out, in, w, w, mask, h, n_, k_, d_, 0, accumulate, 0, 1, wd); } while (0)
#define PART(n_, k_, d_) do { if (relu) dw_rows_body(out, in, w, w, mask, h, n_, k_, d_, 1, accumulate, 0, 0, wd); \
                              else dw_rows_body(out, in, w, w, mask, h, n_, k_, d_, 0, accumulate, 0, 0, wd); } while (0)
    /* width 8 (the last stage at 32x32) compiled for its width: its rows are too short to pay for
       the run-time tail's tests (1.7x slower forward without) */
#define HALF(n_, k_, d_) do { if (relu) dw_rows_body(out, in, w, w, mask, h, 1, k_, d_, 1, accumulate, 0, 0, VL / 2); \
                              else dw_rows_body(out, in, w, w, mask, h, 1, k_, d_, 0, accumulate, 0, 0, VL / 2); } while (0)
    if (DW_WHOLE(wd)) DW_SPECIALISED(BODY, DW_VECTORS(wd), k, dil)
    else if (wd == VL / 2) DW_SPECIALISED(HALF, 1, k, dil)
    else DW_SPECIALISED(PART, DW_VECTORS(wd), k, dil)
#undef BODY
#undef PART
#undef HALF
}

/* Two consecutive planes one vector wide at once (see dw_rows_body). */
HIDDEN CLONES void dw_direct_rows_pair(float *restrict out, const float *restrict in, const float *restrict w,
                                       const float *restrict w2, const float *restrict mask, int h, int k, int dil,
                                       int relu, int accumulate) {
#define BODY(n_, k_, d_) do { if (relu) dw_rows_body(out, in, w, w2, mask, h, 2, k_, d_, 1, accumulate, 1, 1, 2 * VL); \
                              else dw_rows_body(out, in, w, w2, mask, h, 2, k_, d_, 0, accumulate, 1, 1, 2 * VL); } while (0)
    DW_SPECIALISED(BODY, 2, k, dil)
#undef BODY
}

/* Stride 2 ('same' padding, output (h-1)/2+1 by (w-1)/2+1) on planes at most two vectors wide:
   each input row split into its even and odd columns in registers; the tap at column 2*ox + c is
   the even half shifted by c/2 (c even) or the odd half shifted by (c-1)/2 (c odd). One output
   vector per row, its lanes past the output width zero (past the image). Rows that are not whole
   vectors are loaded as in the stride-1 kernels (ROW_LOAD: never past the plane) and stored in
   pieces. */
HIDDEN int dw_direct_stride2(int h, int wd, int oh, int ow, int k, int stride, int pad, int dil) {
    return stride == 2 && wd >= 1 && wd <= 2 * VL && oh == (h - 1) / 2 + 1 && ow == (wd - 1) / 2 + 1 &&
           (k == 3 || k == 5) && (dil == 1 || dil == 2) && pad == dil * (k - 1) / 2;
}

/* Vector v (of nv) of row `row` of a plane rs floats wide and `plane` floats long; whole when
   full, else the last vector's lanes past tail zero. */
#define PLANE_LOAD(base, row, rs, v, nv, full, tail, plane)                                       \
    ((full) || (v) < (nv) - 1 ? vld((base) + (long)(row) * (rs) + (long)(v) * VL)                 \
                              : ROW_LOAD((base) + (long)(row) * (rs) + (long)(v) * VL, tail, (plane) - (long)(row) * (rs) - (long)(v) * VL))
/* e, o = the even and odd columns of input row iy (relu'd when asked), of a plane wd wide. */
#define SPLIT_ROW(in, iy, nv, full, wd, h, relu, e, o) do {                                       \
        int t_ = (full) ? VL : (wd) - ((nv) - 1) * VL;                                           \
        v16 a_ = PLANE_LOAD(in, iy, wd, 0, nv, full, t_, (long)(h) * (wd));                      \
        v16 b_ = (nv) == 2 ? PLANE_LOAD(in, iy, wd, 1, nv, full, t_, (long)(h) * (wd)) : vsplat(0); \
        a_ = VRELU_IF(a_, relu); b_ = VRELU_IF(b_, relu);                                        \
        e = EVENS(a_, b_); o = ODDS(a_, b_);                                                     \
    } while (0)
/* The tap at column offset c (constant) of a split row. */
#define SPLIT_TAP(e, o, c) ((c) % 2 == 0 ? SHIFTV(vsplat(0), e, vsplat(0), (c) / 2)              \
                                         : SHIFTV(vsplat(0), o, vsplat(0), ((c) - 1) / 2))

/* full: the width is nv whole vectors (output rows of nv*8 floats); else wd, any width up to 32. */
INLINE void dw2_forward_body(float *restrict y, const float *restrict x, const float *restrict w,
                             int h, int nv, int k, int dil, int relu, int full, int wd) {
    int pad = dil * (k - 1) / 2, oh = (h - 1) / 2 + 1, ow = (wd - 1) / 2 + 1;
    for (int oy = 0; oy < oh; oy++) {
        v16 acc[5];
        for (int ky = 0; ky < k; ky++) acc[ky] = vsplat(0);
        for (int ky = 0; ky < k; ky++) {
            int iy = 2 * oy + ky * dil - pad;
            if (iy < 0 || iy >= h) continue;
            v16 e, o;
            SPLIT_ROW(x, iy, nv, full, wd, h, relu, e, o);
            for (int kx = 0; kx < k; kx++) acc[ky] += vsplat(w[ky * k + kx]) * SPLIT_TAP(e, o, kx * dil - pad);
        }
        v16 sum = acc[0];
        for (int ky = 1; ky < k; ky++) sum += acc[ky];
        if (full) VSTOREN(y + (long)oy * ow, sum, ow);
        else STORE_PIECES(y + (long)oy * ow, sum, ow);
    }
}

/* dx row i gets, from each kernel row ky with i + pad - ky*dil = 2*oy, dy row oy spread back:
   even column 2l from the taps with pad - kx*dil even (dy column l + (pad - kx*dil)/2), odd
   column 2l+1 from the others (dy column l + (pad + 1 - kx*dil)/2); then the two interleaved. */
INLINE void dw2_backward_data_body(float *restrict dx, const float *restrict dy, const float *restrict w,
                                   const float *restrict mask, int h, int nv, int k, int dil, int full, int wd) {
    int pad = dil * (k - 1) / 2, oh = (h - 1) / 2 + 1, ow = (wd - 1) / 2 + 1;
    int tail = full ? VL : wd - (nv - 1) * VL;
    long plane = (long)h * wd, oplane = (long)oh * ow;
    v16 zero = vsplat(0);
    for (int i = 0; i < h; i++) {
        v16 ev = zero, od = zero;
        for (int ky = 0; ky < k; ky++) {
            int t = i + pad - ky * dil;
            if (t < 0 || t % 2 || t / 2 >= oh) continue;
            v16 g = full ? VLOADN(dy + (long)(t / 2) * ow, ow, 0) : PLANE_LOAD(dy, t / 2, ow, 0, 1, 0, ow, oplane);
            for (int kx = 0; kx < k; kx++) {
                int c = pad - kx * dil;
                v16 wt = vsplat(w[ky * k + kx]);
                if (c % 2 == 0) ev += wt * SHIFTV(zero, g, zero, c / 2);
                else od += wt * SHIFTV(zero, g, zero, (c + 1) / 2);
            }
        }
        float *d = dx + (long)i * wd;
        v16 part[2] = {ZIPLO(ev, od), ZIPHI(ev, od)};
        for (int v = 0; v < nv; v++) {
            v16 r = part[v];
            if (mask) r = VMASK(r, PLANE_LOAD(mask, i, wd, v, nv, full, tail, plane) > zero);
            r += PLANE_LOAD(dx, i, wd, v, nv, full, tail, plane);
            if (full || v < nv - 1) vst(d + (long)v * VL, r);
            else STORE_PIECES(d + (long)v * VL, r, tail);
        }
    }
}

INLINE void dw2_weight_body(float *restrict dw, const float *restrict x, const float *restrict dy, int planes,
                            long x_step, long y_step, int h, int nv, int k, int dil, int relu, int full, int wd) {
    int pad = dil * (k - 1) / 2, oh = (h - 1) / 2 + 1, ow = (wd - 1) / 2 + 1;
    long oplane = (long)oh * ow;
    v16 acc[25];
    for (int t = 0; t < k * k; t++) acc[t] = vsplat(0);
    for (int p = 0; p < planes; p++) {
        const float *in = x + p * x_step, *g = dy + p * y_step;
        for (int oy = 0; oy < oh; oy++) {
            v16 gv = full ? VLOADN(g + (long)oy * ow, ow, 0) : PLANE_LOAD(g, oy, ow, 0, 1, 0, ow, oplane);
            for (int ky = 0; ky < k; ky++) {
                int iy = 2 * oy + ky * dil - pad;
                if (iy < 0 || iy >= h) continue;
                v16 e, o;
                SPLIT_ROW(in, iy, nv, full, wd, h, relu, e, o);
                for (int kx = 0; kx < k; kx++) acc[ky * k + kx] += gv * SPLIT_TAP(e, o, kx * dil - pad);
            }
        }
    }
    for (int t = 0; t < k * k; t++) dw[t] += VSUM(acc[t]);
}

HIDDEN CLONES void dw2_direct_forward(float *restrict y, const float *restrict x, const float *restrict w,
                                      int h, int wd, int k, int dil, int relu) {
#define BODY(n_, k_, d_) do { if (relu) dw2_forward_body(y, x, w, h, n_, k_, d_, 1, 1, (n_) * VL); \
                              else dw2_forward_body(y, x, w, h, n_, k_, d_, 0, 1, (n_) * VL); } while (0)
#define PART(n_, k_, d_) do { if (relu) dw2_forward_body(y, x, w, h, n_, k_, d_, 1, 0, wd); \
                              else dw2_forward_body(y, x, w, h, n_, k_, d_, 0, 0, wd); } while (0)
    DW_DISPATCH(BODY, PART);
#undef BODY
#undef PART
}
HIDDEN CLONES void dw2_direct_backward_data(float *restrict dx, const float *restrict dy, const float *restrict w,
                                            const float *restrict mask, int h, int wd, int k, int dil) {
#define BODY(n_, k_, d_) dw2_backward_data_body(dx, dy, w, mask, h, n_, k_, d_, 1, (n_) * VL)
#define PART(n_, k_, d_) dw2_backward_data_body(dx, dy, w, mask, h, n_, k_, d_, 0, wd)
    DW_DISPATCH(BODY, PART);
#undef BODY
#undef PART
}
HIDDEN CLONES void dw2_direct_weight(float *restrict dw, const float *restrict x, const float *restrict dy, int planes,
                                     long x_step, long y_step, int h, int wd, int k, int dil, int relu) {
#define BODY(n_, k_, d_) do { if (relu) dw2_weight_body(dw, x, dy, planes, x_step, y_step, h, n_, k_, d_, 1, 1, (n_) * VL); \
                              else dw2_weight_body(dw, x, dy, planes, x_step, y_step, h, n_, k_, d_, 0, 1, (n_) * VL); } while (0)
#define PART(n_, k_, d_) do { if (relu) dw2_weight_body(dw, x, dy, planes, x_step, y_step, h, n_, k_, d_, 1, 0, wd); \
                              else dw2_weight_body(dw, x, dy, planes, x_step, y_step, h, n_, k_, d_, 0, 0, wd); } while (0)
    DW_DISPATCH(BODY, PART);
#undef BODY
#undef PART
}


/* dw (k x k) += sum over `planes` planes (x and dy `step` floats apart) and outputs of dy times the
   tap's input (relu'd when asked): every tap's accumulator stays in a register across the planes.
   Input rows are streamed, each shifted once per column tap; a shifted row meets the k rows of
   dy it belongs to (kernel row ky: output row iy + pad - ky*dil). */
INLINE void dw_weight_rows_body(float *restrict dw, const float *restrict x, const float *restrict dy, int planes, long step,
                                int h, int nv, int k, int dil, int relu, int full, int wd) {
    /* full: the width is nv whole vectors; else wd (rows loaded with their lanes past it zero) */
    int pad = dil * (k - 1) / 2, tail = full ? VL : wd - (nv - 1) * VL;
    long plane = (long)h * wd;
    /* a partial last vector loaded as in dw_rows_body */
    int span = (nv - 1) * VL + (tail <= VL / 2 ? VL / 2 : VL);
    int safe = full ? h : imin(h, plane < span ? 0 : (int)((plane - span) / wd) + 1);
    i16 tmask = LANES_BELOW(tail);
#define AT(base, row, v) ((base) + (long)(row) * wd + (v) * VL)
#define LOAD(base, row, v) (full || (v) < nv - 1 ? vld(AT(base, row, v))                                  \
    : (row) < safe ? VMASK(tail <= VL / 2 ? VLOADN(AT(base, row, v), VL / 2, 0) : vld(AT(base, row, v)), tmask) \
    : ROW_LOAD(AT(base, row, v), tail, plane - (long)(row) * wd - (v) * VL))
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
                c[v] = VRELU_IF(LOAD(in, iy, v), relu);                                         \
            }                                                                                   \
            for (int v = 0; v < nv; v++) {                                                      \
                v16 sh[3];                                                                      \
                for (int j = 0; j < (kn); j++)                                                  \
                    sh[j] = SHIFTV(v > 0 ? c[v - 1] : zero, c[v], v + 1 < nv ? c[v + 1] : zero, ((k0) + j) * dil - pad); \
                for (int ky = 0; ky < k; ky++) {                                                \
                    int oy = iy + pad - ky * dil;                                               \
                    if (oy < 0 || oy >= h) continue;                                            \
                    v16 gv = LOAD(g, oy, v);                                                    \
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
#undef LOAD
#undef AT
    for (int t = 0; t < k * k; t++) dw[t] += VSUM(total[t]);
}

HIDDEN CLONES void dw_direct_weight(float *restrict dw, const float *restrict x, const float *restrict dy, int planes, long step,
                                    int h, int wd, int k, int dil, int relu) {
#define BODY(n_, k_, d_) do { if (relu) dw_weight_rows_body(dw, x, dy, planes, step, h, n_, k_, d_, 1, 1, wd); \
                              else dw_weight_rows_body(dw, x, dy, planes, step, h, n_, k_, d_, 0, 1, wd); } while (0)
#define PART(n_, k_, d_) do { if (relu) dw_weight_rows_body(dw, x, dy, planes, step, h, n_, k_, d_, 1, 0, wd); \
                              else dw_weight_rows_body(dw, x, dy, planes, step, h, n_, k_, d_, 0, 0, wd); } while (0)
    DW_DISPATCH(BODY, PART);
#undef BODY
#undef PART
}
