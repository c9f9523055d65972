/* Internal to NSASKernels: the vector types and macros every kernel family uses, the "wide"
   layout helpers the depthwise and pooling kernels share, and the functions one family file calls
   in another (hidden: not part of the library's interface). */
#ifndef NSAS_KERNELS_INTERNAL_H
#define NSAS_KERNELS_INTERNAL_H
#include "include/nsas_kernels.h"
#include <string.h>

/* Each kernel is built for AVX-512, AVX2 and baseline x86-64, the CPU picking one at load time;
   NSAS_SINGLE_ARCH builds one version for the compiler's -march instead (to measure the AVX2
   code path on an AVX-512 machine: docs/benchmarks.md). */
#if defined(__x86_64__) && defined(__clang__) && !defined(NSAS_SINGLE_ARCH)
#define CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#define HAS_AVX512() __builtin_cpu_supports("avx512f")
#else
#define CLONES
#if defined(__AVX512F__)
#define HAS_AVX512() 1
#else
#define HAS_AVX512() 0
#endif
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
/* Rows of any width up to a vector: lanes below n (a mask of lanes). ROW_LOAD: the first n (1..16)
   floats at p, zeros after; room is the number of floats readable at p (to the end of the plane):
   a whole-vector load while the plane goes on (the next row's lanes cleared), else a half-vector
   load when n and the plane allow, else n floats read one by one: never past the plane.
   STORE_PIECES: the first n (1..16) lanes of v stored at p in pieces of 8, 4, 2 and 1 floats:
   nothing written past them (the next row may be written already, or be another thread's), and
   no store that a later load of the next row only partly overlaps (which would stall it). */
#define LANES_BELOW(n) (((i16){0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}) < ((i16){} + (n)))
#define ROW_LOAD(p, n, room) ({ const float *p_ = (p); int n_ = (n); v16 t_;                               \
    if (n_ == VL) t_ = vld(p_);                                                                          \
    else if ((room) >= VL) t_ = VMASK(vld(p_), LANES_BELOW(n_));                                         \
    else if (n_ <= VL / 2 && (room) >= VL / 2) t_ = VMASK(VLOADN(p_, VL / 2, 0), LANES_BELOW(n_));         \
    else { t_ = vsplat(0); for (int i_ = 0; i_ < n_; i_++) t_[i_] = p_[i_]; }                            \
    t_; })
typedef float v4 __attribute__((vector_size(16), aligned(4)));
typedef float v2 __attribute__((vector_size(8), aligned(4)));
#define STORE_PIECES(p, v, n) do { float *p_ = (p); v16 v_ = (v); int n_ = (n);                          \
    if (n_ == VL) { vst(p_, v_); break; }                                                                \
    if (n_ & 8) { *(v8 *)p_ = __builtin_shufflevector(v_, v_, 0, 1, 2, 3, 4, 5, 6, 7); p_ += 8;           \
                  v_ = __builtin_shufflevector(v_, v_, 8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15); } \
    if (n_ & 4) { *(v4 *)p_ = __builtin_shufflevector(v_, v_, 0, 1, 2, 3); p_ += 4;                       \
                  v_ = __builtin_shufflevector(v_, v_, 4, 5, 6, 7, 4, 5, 6, 7, 4, 5, 6, 7, 4, 5, 6, 7); }  \
    if (n_ & 2) { *(v2 *)p_ = __builtin_shufflevector(v_, v_, 0, 1); p_ += 2;                             \
                  v_ = __builtin_shufflevector(v_, v_, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3); }  \
    if (n_ & 1) *p_ = v_[0];                                                                             \
} while (0)

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
#define HIDDEN __attribute__((visibility("hidden")))
#define SHARED __attribute__((unused))
/* Unused in some family files: the CLONES helpers below cannot carry `unused`. */
#pragma clang diagnostic ignored "-Wunused-function"

/* The depthwise and pooling kernels work on a "wide" layout: the plane is copied into a padded
   buffer of width wp = w + 2*pad, and the stride-1 output grid is computed at every position
   i = oy1 * wp + ox1 of that width (the columns past the real output are computed and ignored).
   Each kernel tap then is one long contiguous loop over the plane instead of a short loop per
   row, which is what makes these memory-bound kernels fast. Strided outputs are the stride-1
   grid's positions (oy*stride, ox*stride). */

/* dst (n) = src (n): whole vectors, then the rest (rows are short: a library call or a generic
   vectorised loop costs more than the copy). */
SHARED static inline void copy_row(float *restrict dst, const float *restrict src, int n) {
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
SHARED static inline wide_t wide_sizes(int h, int wd, int k, int pad, int dil) {
    wide_t s;
    s.hp = h + 2 * pad; s.wp = wd + 2 * pad;
    s.oh1 = s.hp - dil * (k - 1); s.ow1 = s.wp - dil * (k - 1);
    s.span = (long)(s.oh1 - 1) * s.wp + s.ow1;   /* wide positions up to the last real output */
    return s;
}

/* Taps of a k x k window with dilation dil as offsets in the wide layout; at most 7x7 (the
   callers send larger kernels to the im2col path). */
SHARED static int tap_offsets(long *off, int k, int dil, int wp) {
    int t = 0;
    for (int ky = 0; ky < k; ky++)
        for (int kx = 0; kx < k; kx++) off[t++] = (long)ky * dil * wp + kx * dil;
    return t;
}

/* Largest tap offset plus a block of four vectors: the slack each wide buffer carries past its end, so that
   whole-vector loops may run over the last partial vector (results there are discarded). */
SHARED static inline long slack(wide_t s, int k, int dil) { return (long)(k - 1) * dil * (s.wp + 1) + 5 * VL; }

/* Stride 2 runs on the four phase planes of the padded input (even/odd rows x even/odd columns),
   each (hp+1)/2 x (wp+1)/2: a stride-1 correlation there computes only the outputs needed. */
typedef struct { int ph, pw; long plane, slack; } phase_t;
SHARED static inline phase_t phase_sizes(wide_t s, int k, int dil) {
    phase_t p;
    p.ph = (s.hp + 1) / 2; p.pw = (s.wp + 1) / 2;
    p.plane = (long)p.ph * p.pw;
    p.slack = (long)((k - 1) * dil / 2) * (p.pw + 1) + 5 * VL;
    return p;
}


/* Number of in-image taps along one axis of the 3x3 window centred on c. */
SHARED static inline float taps3(int c, int n) { return (float)(imin(n - 1, c + 1) - imax(0, c - 1) + 1); }

/* Direct depthwise row kernels (depthwise_direct.c), for the entry points in depthwise.c. */
HIDDEN int dw_direct(int h, int wd, int oh, int ow, int k, int stride, int pad, int dil);
HIDDEN int dw_direct_stride2(int h, int wd, int oh, int ow, int k, int stride, int pad, int dil);
HIDDEN void dw_direct_rows(float *restrict out, const float *restrict in, const float *restrict w,
                           const float *restrict mask, int h, int wd, int k, int dil, int relu, int accumulate);
HIDDEN void dw_direct_rows_pair(float *restrict out, const float *restrict in, const float *restrict w,
                                const float *restrict w2, const float *restrict mask, int h, int k, int dil, int relu, int accumulate);
HIDDEN void dw2_direct_forward(float *restrict y, const float *restrict x, const float *restrict w, int h, int wd, int k, int dil, int relu);
HIDDEN void dw2_direct_backward_data(float *restrict dx, const float *restrict dy, const float *restrict w,
                                     const float *restrict mask, int h, int wd, int k, int dil);
HIDDEN void dw2_direct_weight(float *restrict dw, const float *restrict x, const float *restrict dy, int planes,
                              long x_step, long y_step, int h, int wd, int k, int dil, int relu);
HIDDEN void dw_direct_weight(float *restrict dw, const float *restrict x, const float *restrict dy, int planes, long step,
                             int h, int wd, int k, int dil, int relu);

/* Direct 3x3 pool kernels (pooling_direct.c), for the entry points in pooling.c. */
HIDDEN int pool3_direct(int h, int wd, int oh, int ow, int stride);
HIDDEN void pool3_inverse_counts(float *inv, int wd, int ow, int stride);
HIDDEN void pool3_direct_forward(int is_max, float *restrict y, const float *restrict x, const float *restrict inv,
                                 int h, int wd, int oh, int ow, int stride);
HIDDEN void pool3_direct_max_backward(float *restrict dx, const float *restrict dy, const float *restrict x,
                                      float *restrict scratch, int h, int wd, int oh, int ow, int stride);
HIDDEN void pool3_direct_avg_backward(float *restrict dx, const float *restrict dy, const float *restrict inv,
                                      int h, int wd, int oh, int ow, int stride);
#endif
