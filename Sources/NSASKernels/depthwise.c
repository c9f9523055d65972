/* Depthwise convolutions (DARTS sep_conv and dil_conv): the public entry points, and the "wide"
   kernels for planes the direct row kernels (depthwise_direct.c) do not take. */
#include "kernels_internal.h"
#include <string.h>

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

void nsas_dw_backward_data_planes(float *dx, const float *dy, const float *w, float *scratch, long first, int count,
                                  int channels, int h, int wd, int oh, int ow, int k, int stride, int pad, int dil,
                                  const float *relu_input, int accumulate) {
    long xs = (long)h * wd, ys = (long)oh * ow, kk = (long)k * k;
    int p = 0, direct = dw_direct(h, wd, oh, ow, k, stride, pad, dil);
    /* stride 1, 'same' padding: the correlation of dy with the kernel turned by 180 degrees, each
       output row stored once (written, or added to dx) */
    if (wd == VL && direct)
        for (; p + 1 < count; p += 2) {
            long a = first + p;
            float fa[25], fb[25];
            const float *wa = w + a % channels * kk, *wb = w + (a + 1) % channels * kk;
            for (int t = 0; t < kk; t++) { fa[t] = wa[kk - 1 - t]; fb[t] = wb[kk - 1 - t]; }
            dw_direct_rows_pair(dx + a * xs, dy + a * ys, fa, fb, relu_input ? relu_input + a * xs : 0, h, k, dil, 0, accumulate);
        }
    for (; p < count; p++) {
        long a = first + p;
        const float *mask = relu_input ? relu_input + a * xs : 0, *wa = w + a % channels * kk;
        if (direct) {
            float fa[25];
            for (int t = 0; t < kk; t++) fa[t] = wa[kk - 1 - t];
            dw_direct_rows(dx + a * xs, dy + a * ys, fa, mask, h, wd, k, dil, 0, accumulate);
            continue;
        }
        if (!accumulate) memset(dx + a * xs, 0, sizeof(float) * (size_t)xs);   /* the other kernels add */
        nsas_dw_backward_data_add(dx + a * xs, dy + a * ys, wa, scratch, h, wd, oh, ow, k, stride, pad, dil, mask);
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
