/* Elementwise kernels and math of the fast backend: axpy, sums, batch-norm pieces, ReLU,
   arithmetic, a vectorised expf and log-softmax. The Swift loops of the reference backend define them. */
#include "kernels_internal.h"
#include <string.h>

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

CLONES void nsas_bn_dx(float *restrict dx, const float *restrict dy, const float *restrict x, float k,
                       float mean_dy, float m, float slope, long n, int accumulate) {
    if (accumulate) for (long i = 0; i < n; i++) dx[i] += k * (dy[i] - mean_dy - (x[i] - m) * slope);
    else for (long i = 0; i < n; i++) dx[i] = k * (dy[i] - mean_dy - (x[i] - m) * slope);
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
