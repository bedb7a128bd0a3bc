/*
 * dpa native kernel, images: dpa.integrations' apply_params for float32 and uint8
 * images on the CPU, one image at a time, bit-identical to the reference
 * (dpa/integrations/numpy.py; see dpa/integrations/__init__.py for the definition).
 *
 * Per image, two passes over its C x H x W values (which stay in the cache):
 *   1. the warp (bilinear, zero fill, on the grid theta @ (x, y) of the pixel
 *      centres), or a copy where the image is not warped; times brightness,
 *      clamped; and the exact sum of the floored grayscale values;
 *   2. the contrast blend with the grayscale mean, clamped, then the noise
 *      (counter-based words, Box-Muller tables), clamped.
 * Work for neutral parameters is skipped where skipping gives the same bits.
 *
 * Every float operation is the reference's, in its order and rounding: the
 * build has -ffp-contract=off, and the two fused multiply-adds of the definition
 * (in the sampling position and the interpolation) are written as fmaf. The
 * same body is compiled for the portable target, AVX2 and AVX-512 (chosen at
 * run time), which changes the speed and never a bit. The GIL is released while
 * images are processed, so threads can share a batch.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if (defined(__x86_64__) || defined(_M_X64)) && defined(__GNUC__)
#define DPA_IMAGES_X86 1
#include <immintrin.h>
#endif

#if defined(__GNUC__)
#define ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define ALWAYS_INLINE inline
#endif

/* Pixels of one row done together in the warp; value pairs in the noise pass. */
#define CHUNK 64
#define PAIRS 128
#define TABLE_SIZE 65536

/* What every image of a call shares. */
typedef struct {
    int64_t channels, height, width;
    const float *xs, *ys; /* the pixel centres, normalized: width and height values */
    float gray[3];        /* the grayscale weights of 3-channel images */
    const double *radius; /* RAD: TABLE_SIZE values */
    const double *cossin; /* COS[b], SIN[b] side by side: 2 x TABLE_SIZE values */
} Shared;

/* One image's parameters, rounded as the reference rounds them. */
typedef struct {
    float theta[4]; /* t00, t01, t10, t11 */
    float brightness, contrast, rest, noise;
    uint32_t k0, k1;
    int warp;
} Image;

/* uint8 values as the reference reads them: float32(u) / 255 */
static float BYTE_VALUES[256];

/* Reads one value of each 64-byte line of `values`, in order: the memory
 * streams in at full speed, where the warp's own reads, which follow rotated
 * lines, would each wait for memory. */
static ALWAYS_INLINE void load_into_cache(const float *values, int64_t count)
{
    float sum = 0.0f;
    for (int64_t i = 0; i < count; i += 16)
        sum += values[i];
    volatile float sink = sum; /* the reads are done, not optimized away */
    (void)sink;
}

static ALWAYS_INLINE float clamp01(float v)
{
    v = v < 0.0f ? 0.0f : v;
    return v > 1.0f ? 1.0f : v;
}

static ALWAYS_INLINE uint32_t mix32(uint32_t v)
{
    v ^= v >> 16;
    v *= 0x7FEB352Du;
    v ^= v >> 15;
    v *= 0x846CA68Bu;
    return v ^ (v >> 16);
}

/* floor(v * 2**32) summed over v[0 .. n): an integer below 2**33 each (v <= 1), so
 * float64 sums of up to CHUNK of them are exact in any order; eight partial sums
 * let the compiler use vector lanes. */
static ALWAYS_INLINE int64_t fixed_sum(const float *v, int n)
{
    double part[8] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
    int i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++)
            part[k] += (double)floorf(v[i + k] * 4294967296.0f);
    double sum = 0.0;
    for (; i < n; i++)
        sum += (double)floorf(v[i] * 4294967296.0f);
    for (int k = 0; k < 8; k++)
        sum += part[k];
    return (int64_t)sum;
}

/* The gray mean's exact sum over n pixels from `first` (channel 0) on, channel
 * planes `plane` values apart: the gray value of each pixel (the weighted channels
 * of 3-channel images, the channel of 1-channel ones, else the channels added in
 * order and divided by their number), floored to a multiple of 2**-32. */
static ALWAYS_INLINE int64_t gray_sum(const Shared *s, const float *first, int64_t plane, int n)
{
    const int64_t channels = s->channels;
    if (channels == 1)
        return fixed_sum(first, n);
    float gray[CHUNK];
    if (channels == 3) {
        const float w0 = s->gray[0], w1 = s->gray[1], w2 = s->gray[2];
        const float *r = first, *g = first + plane, *b = first + 2 * plane;
        for (int i = 0; i < n; i++)
            gray[i] = w0 * r[i] + w1 * g[i] + w2 * b[i];
    } else {
        const float count = (float)channels;
        for (int i = 0; i < n; i++)
            gray[i] = first[i];
        for (int64_t c = 1; c < channels; c++) {
            const float *p = first + c * plane;
            for (int i = 0; i < n; i++)
                gray[i] = gray[i] + p[i];
        }
        for (int i = 0; i < n; i++)
            gray[i] = gray[i] / count;
    }
    return fixed_sum(gray, n);
}

/* Code paths: the same results, at different speeds. */
enum { PATH_PORTABLE, PATH_AVX2, PATH_AVX512 };

/* The warp of pixels [x_begin, x_end) of row y, every channel, one pixel at a
 * time: out = clamp(sample(src) * brightness). This is the definition the
 * vector versions below follow lane by lane. */
static ALWAYS_INLINE void warp_pixels(const Shared *s, const Image *im, const float *src,
                                      float *dst, int64_t y, int64_t x_begin, int64_t x_end)
{
    const int64_t channels = s->channels, height = s->height, width = s->width;
    const int64_t plane = height * width;
    const int32_t w32 = (int32_t)width, h32 = (int32_t)height;
    const float half_w = (float)width / 2.0f, half_h = (float)height / 2.0f;
    const float row_x = im->theta[1] * s->ys[y], row_y = im->theta[3] * s->ys[y];
    for (int64_t x = x_begin; x < x_end; x++) {
        /* the grid (theta @ (x, y), rounded as the reference) and the position in
         * pixels, as torch's vectorized grid_sample computes it */
        const float gx = im->theta[0] * s->xs[x] + row_x;
        const float gy = im->theta[2] * s->xs[x] + row_y;
        const float fx = fmaf(gx + 1.0f, half_w, -0.5f);
        const float fy = fmaf(gy + 1.0f, half_h, -0.5f);
        float west = floorf(fx), north = floorf(fy);
        const float e_w = fx - west, e_e = 1.0f - e_w;
        const float n_w = fy - north, s_w = 1.0f - n_w;
        const float w_nw = s_w * e_e, w_ne = s_w * e_w, w_sw = n_w * e_e, w_se = n_w * e_w;
        /* only inside or not matters beyond the edges: keep the ints in range */
        west = west < -2.0f ? -2.0f : (west > (float)width ? (float)width : west);
        north = north < -2.0f ? -2.0f : (north > (float)height ? (float)height : north);
        const int32_t ix = (int32_t)west, iy = (int32_t)north;
        const int in_w = ix >= 0 && ix < w32, in_e = ix + 1 >= 0 && ix + 1 < w32;
        const int in_n = iy >= 0 && iy < h32, in_s = iy + 1 >= 0 && iy + 1 < h32;
        const int64_t o_nw = (int64_t)iy * width + ix;
        for (int64_t c = 0; c < channels; c++) {
            const float *p = src + c * plane;
            const float v_nw = in_w && in_n ? p[o_nw] : 0.0f;
            const float v_ne = in_e && in_n ? p[o_nw + 1] : 0.0f;
            const float v_sw = in_w && in_s ? p[o_nw + width] : 0.0f;
            const float v_se = in_e && in_s ? p[o_nw + width + 1] : 0.0f;
            const float v = fmaf(v_se, w_se, fmaf(v_sw, w_sw, fmaf(v_ne, w_ne, v_nw * w_nw)));
            dst[c * plane + y * width + x] = clamp01(v * im->brightness);
        }
    }
}

#ifdef DPA_IMAGES_X86
/* The even (odd: 1) floats of a and b, in order: [a0 a2 a4 a6 b0 b2 b4 b6]. */
__attribute__((target("avx2,fma"))) static inline __m256 deinterleave_avx2(__m256 a, __m256 b,
                                                                           int odd)
{
    const __m256 picked = odd ? _mm256_shuffle_ps(a, b, _MM_SHUFFLE(3, 1, 3, 1))
                              : _mm256_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0));
    return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(picked), _MM_SHUFFLE(3, 1, 2, 0)));
}

/* warp_pixels for row y, 8 pixels at a time; returns where it stopped (the
 * last width % 8 pixels are left to warp_pixels). */
__attribute__((target("avx2,fma"))) static int64_t warp_row_avx2(const Shared *s, const Image *im,
                                                                 const float *src, float *dst,
                                                                 int64_t y)
{
    const int64_t channels = s->channels, height = s->height, width = s->width;
    const int64_t plane = height * width;
    const __m256 t00 = _mm256_set1_ps(im->theta[0]), t10 = _mm256_set1_ps(im->theta[2]);
    const __m256 row_x = _mm256_set1_ps(im->theta[1] * s->ys[y]);
    const __m256 row_y = _mm256_set1_ps(im->theta[3] * s->ys[y]);
    const __m256 one = _mm256_set1_ps(1.0f), zero = _mm256_setzero_ps();
    const __m256 minus_half = _mm256_set1_ps(-0.5f), low = _mm256_set1_ps(-2.0f);
    const __m256 half_w = _mm256_set1_ps((float)width / 2.0f);
    const __m256 half_h = _mm256_set1_ps((float)height / 2.0f);
    const __m256 max_w = _mm256_set1_ps((float)width), max_h = _mm256_set1_ps((float)height);
    const __m256 bright = _mm256_set1_ps(im->brightness);
    const __m256i iw = _mm256_set1_epi32((int32_t)width), ih = _mm256_set1_epi32((int32_t)height);
    const __m256i minus_one = _mm256_set1_epi32(-1), ione = _mm256_set1_epi32(1);
    int64_t x = 0;
    for (; x + 8 <= width; x += 8) {
        const __m256 xs = _mm256_loadu_ps(s->xs + x);
        const __m256 gx = _mm256_add_ps(_mm256_mul_ps(t00, xs), row_x);
        const __m256 gy = _mm256_add_ps(_mm256_mul_ps(t10, xs), row_y);
        const __m256 fx = _mm256_fmadd_ps(_mm256_add_ps(gx, one), half_w, minus_half);
        const __m256 fy = _mm256_fmadd_ps(_mm256_add_ps(gy, one), half_h, minus_half);
        const __m256 west = _mm256_floor_ps(fx), north = _mm256_floor_ps(fy);
        const __m256 e_w = _mm256_sub_ps(fx, west), e_e = _mm256_sub_ps(one, e_w);
        const __m256 n_w = _mm256_sub_ps(fy, north), s_w = _mm256_sub_ps(one, n_w);
        const __m256 w_nw = _mm256_mul_ps(s_w, e_e), w_ne = _mm256_mul_ps(s_w, e_w);
        const __m256 w_sw = _mm256_mul_ps(n_w, e_e), w_se = _mm256_mul_ps(n_w, e_w);
        const __m256i ix = _mm256_cvttps_epi32(_mm256_min_ps(_mm256_max_ps(west, low), max_w));
        const __m256i iy = _mm256_cvttps_epi32(_mm256_min_ps(_mm256_max_ps(north, low), max_h));
        const __m256i ix1 = _mm256_add_epi32(ix, ione), iy1 = _mm256_add_epi32(iy, ione);
        const __m256i in_w = _mm256_and_si256(_mm256_cmpgt_epi32(ix, minus_one), _mm256_cmpgt_epi32(iw, ix));
        const __m256i in_e = _mm256_and_si256(_mm256_cmpgt_epi32(ix1, minus_one), _mm256_cmpgt_epi32(iw, ix1));
        const __m256i in_n = _mm256_and_si256(_mm256_cmpgt_epi32(iy, minus_one), _mm256_cmpgt_epi32(ih, iy));
        const __m256i in_s = _mm256_and_si256(_mm256_cmpgt_epi32(iy1, minus_one), _mm256_cmpgt_epi32(ih, iy1));
        const __m256 m_nw = _mm256_castsi256_ps(_mm256_and_si256(in_w, in_n));
        const __m256 m_ne = _mm256_castsi256_ps(_mm256_and_si256(in_e, in_n));
        const __m256 m_sw = _mm256_castsi256_ps(_mm256_and_si256(in_w, in_s));
        const __m256 m_se = _mm256_castsi256_ps(_mm256_and_si256(in_e, in_s));
        const __m256i o_nw = _mm256_add_epi32(_mm256_mullo_epi32(iy, iw), ix);
        const __m256i o_ne = _mm256_add_epi32(o_nw, ione);
        const __m256i o_sw = _mm256_add_epi32(o_nw, iw);
        const __m256i o_se = _mm256_add_epi32(o_sw, ione);
        /* as in warp_row_avx512: one 64-bit load for both neighbours of a row
         * where both are inside, the others alone */
        const __m256i both = _mm256_and_si256(in_w, in_e);
        const __m256i pair_n = _mm256_and_si256(in_n, both), pair_s = _mm256_and_si256(in_s, both);
        const __m256 alone_nw = _mm256_andnot_ps(_mm256_castsi256_ps(in_e), m_nw);
        const __m256 alone_ne = _mm256_andnot_ps(_mm256_castsi256_ps(in_w), m_ne);
        const __m256 alone_sw = _mm256_andnot_ps(_mm256_castsi256_ps(in_e), m_sw);
        const __m256 alone_se = _mm256_andnot_ps(_mm256_castsi256_ps(in_w), m_se);
        const int alone = _mm256_movemask_ps(_mm256_or_ps(_mm256_or_ps(alone_nw, alone_ne),
                                                          _mm256_or_ps(alone_sw, alone_se))) != 0;
        const __m256i mask_n_lo = _mm256_cvtepi32_epi64(_mm256_castsi256_si128(pair_n));
        const __m256i mask_n_hi = _mm256_cvtepi32_epi64(_mm256_extracti128_si256(pair_n, 1));
        const __m256i mask_s_lo = _mm256_cvtepi32_epi64(_mm256_castsi256_si128(pair_s));
        const __m256i mask_s_hi = _mm256_cvtepi32_epi64(_mm256_extracti128_si256(pair_s, 1));
        const __m128i n_lo = _mm256_castsi256_si128(o_nw), n_hi = _mm256_extracti128_si256(o_nw, 1);
        const __m128i s_lo = _mm256_castsi256_si128(o_sw), s_hi = _mm256_extracti128_si256(o_sw, 1);
        for (int64_t c = 0; c < channels; c++) {
            const float *p = src + c * plane;
            const long long *q = (const long long *)p;
            const __m256i none = _mm256_setzero_si256();
            const __m256 north_lo = _mm256_castsi256_ps(_mm256_mask_i32gather_epi64(none, q, n_lo, mask_n_lo, 4));
            const __m256 north_hi = _mm256_castsi256_ps(_mm256_mask_i32gather_epi64(none, q, n_hi, mask_n_hi, 4));
            const __m256 south_lo = _mm256_castsi256_ps(_mm256_mask_i32gather_epi64(none, q, s_lo, mask_s_lo, 4));
            const __m256 south_hi = _mm256_castsi256_ps(_mm256_mask_i32gather_epi64(none, q, s_hi, mask_s_hi, 4));
            /* [w0 e0 w1 e1 | w2 e2 w3 e3] and [w4 e4 .. | ..] -> [w0 .. w7], [e0 .. e7] */
            __m256 v_nw = deinterleave_avx2(north_lo, north_hi, 0);
            __m256 v_ne = deinterleave_avx2(north_lo, north_hi, 1);
            __m256 v_sw = deinterleave_avx2(south_lo, south_hi, 0);
            __m256 v_se = deinterleave_avx2(south_lo, south_hi, 1);
            if (alone) {
                v_nw = _mm256_mask_i32gather_ps(v_nw, p, o_nw, alone_nw, 4);
                v_ne = _mm256_mask_i32gather_ps(v_ne, p, o_ne, alone_ne, 4);
                v_sw = _mm256_mask_i32gather_ps(v_sw, p, o_sw, alone_sw, 4);
                v_se = _mm256_mask_i32gather_ps(v_se, p, o_se, alone_se, 4);
            }
            __m256 v = _mm256_fmadd_ps(v_ne, w_ne, _mm256_mul_ps(v_nw, w_nw));
            v = _mm256_fmadd_ps(v_se, w_se, _mm256_fmadd_ps(v_sw, w_sw, v));
            /* max(0, v), then min(1, v): NaN stays NaN, as in clamp01 */
            v = _mm256_min_ps(one, _mm256_max_ps(zero, _mm256_mul_ps(v, bright)));
            _mm256_storeu_ps(dst + c * plane + y * width + x, v);
        }
    }
    return x;
}

/* warp_pixels for row y, 16 pixels at a time, the last ones masked. */
__attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,avx2,fma"))) static int64_t warp_row_avx512(
    const Shared *s, const Image *im, const float *src, float *dst, int64_t y)
{
    const int64_t channels = s->channels, height = s->height, width = s->width;
    const int64_t plane = height * width;
    const __m512 t00 = _mm512_set1_ps(im->theta[0]), t10 = _mm512_set1_ps(im->theta[2]);
    const __m512 row_x = _mm512_set1_ps(im->theta[1] * s->ys[y]);
    const __m512 row_y = _mm512_set1_ps(im->theta[3] * s->ys[y]);
    const __m512 one = _mm512_set1_ps(1.0f), zero = _mm512_setzero_ps();
    const __m512 minus_half = _mm512_set1_ps(-0.5f), low = _mm512_set1_ps(-2.0f);
    const __m512 half_w = _mm512_set1_ps((float)width / 2.0f);
    const __m512 half_h = _mm512_set1_ps((float)height / 2.0f);
    const __m512 max_w = _mm512_set1_ps((float)width), max_h = _mm512_set1_ps((float)height);
    const __m512 bright = _mm512_set1_ps(im->brightness);
    const __m512i iw = _mm512_set1_epi32((int32_t)width), ih = _mm512_set1_epi32((int32_t)height);
    const __m512i minus_one = _mm512_set1_epi32(-1), ione = _mm512_set1_epi32(1);
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    for (int64_t x = 0; x < width; x += 16) {
        const __mmask16 lanes = width - x >= 16 ? (__mmask16)0xFFFF
                                                : (__mmask16)((1u << (width - x)) - 1u);
        const __m512 xs = _mm512_maskz_loadu_ps(lanes, s->xs + x);
        const __m512 gx = _mm512_add_ps(_mm512_mul_ps(t00, xs), row_x);
        const __m512 gy = _mm512_add_ps(_mm512_mul_ps(t10, xs), row_y);
        const __m512 fx = _mm512_fmadd_ps(_mm512_add_ps(gx, one), half_w, minus_half);
        const __m512 fy = _mm512_fmadd_ps(_mm512_add_ps(gy, one), half_h, minus_half);
        const __m512 west = _mm512_roundscale_ps(fx, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
        const __m512 north = _mm512_roundscale_ps(fy, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
        const __m512 e_w = _mm512_sub_ps(fx, west), e_e = _mm512_sub_ps(one, e_w);
        const __m512 n_w = _mm512_sub_ps(fy, north), s_w = _mm512_sub_ps(one, n_w);
        const __m512 w_nw = _mm512_mul_ps(s_w, e_e), w_ne = _mm512_mul_ps(s_w, e_w);
        const __m512 w_sw = _mm512_mul_ps(n_w, e_e), w_se = _mm512_mul_ps(n_w, e_w);
        const __m512i ix = _mm512_cvttps_epi32(_mm512_min_ps(_mm512_max_ps(west, low), max_w));
        const __m512i iy = _mm512_cvttps_epi32(_mm512_min_ps(_mm512_max_ps(north, low), max_h));
        const __m512i ix1 = _mm512_add_epi32(ix, ione), iy1 = _mm512_add_epi32(iy, ione);
        const __mmask16 in_w = _mm512_cmpgt_epi32_mask(ix, minus_one) & _mm512_cmpgt_epi32_mask(iw, ix);
        const __mmask16 in_e = _mm512_cmpgt_epi32_mask(ix1, minus_one) & _mm512_cmpgt_epi32_mask(iw, ix1);
        const __mmask16 in_n =
            lanes & _mm512_cmpgt_epi32_mask(iy, minus_one) & _mm512_cmpgt_epi32_mask(ih, iy);
        const __mmask16 in_s =
            lanes & _mm512_cmpgt_epi32_mask(iy1, minus_one) & _mm512_cmpgt_epi32_mask(ih, iy1);
        const __m512i o_nw = _mm512_add_epi32(_mm512_mullo_epi32(iy, iw), ix);
        const __m512i o_ne = _mm512_add_epi32(o_nw, ione);
        const __m512i o_sw = _mm512_add_epi32(o_nw, iw);
        const __m512i o_se = _mm512_add_epi32(o_sw, ione);
        /* Where both west and east are inside, one 64-bit load reads the two
         * neighbours of a row; the few pixels with one of them outside (at the
         * image's edges) read the other alone. */
        const __mmask16 pair_n = in_n & in_w & in_e, pair_s = in_s & in_w & in_e;
        const __mmask16 alone_nw = in_n & in_w & ~in_e, alone_ne = in_n & in_e & ~in_w;
        const __mmask16 alone_sw = in_s & in_w & ~in_e, alone_se = in_s & in_e & ~in_w;
        const int alone = (alone_nw | alone_ne | alone_sw | alone_se) != 0;
        const __m256i n_lo = _mm512_castsi512_si256(o_nw), n_hi = _mm512_extracti64x4_epi64(o_nw, 1);
        const __m256i s_lo = _mm512_castsi512_si256(o_sw), s_hi = _mm512_extracti64x4_epi64(o_sw, 1);
        for (int64_t c = 0; c < channels; c++) {
            const float *p = src + c * plane;
            const __m512 north_lo = _mm512_castsi512_ps(
                _mm512_mask_i32gather_epi64(_mm512_setzero_si512(), (__mmask8)pair_n, n_lo, p, 4));
            const __m512 north_hi = _mm512_castsi512_ps(_mm512_mask_i32gather_epi64(
                _mm512_setzero_si512(), (__mmask8)(pair_n >> 8), n_hi, p, 4));
            const __m512 south_lo = _mm512_castsi512_ps(
                _mm512_mask_i32gather_epi64(_mm512_setzero_si512(), (__mmask8)pair_s, s_lo, p, 4));
            const __m512 south_hi = _mm512_castsi512_ps(_mm512_mask_i32gather_epi64(
                _mm512_setzero_si512(), (__mmask8)(pair_s >> 8), s_hi, p, 4));
            __m512 v_nw = _mm512_permutex2var_ps(north_lo, even, north_hi);
            __m512 v_ne = _mm512_permutex2var_ps(north_lo, odd, north_hi);
            __m512 v_sw = _mm512_permutex2var_ps(south_lo, even, south_hi);
            __m512 v_se = _mm512_permutex2var_ps(south_lo, odd, south_hi);
            if (alone) {
                v_nw = _mm512_mask_i32gather_ps(v_nw, alone_nw, o_nw, p, 4);
                v_ne = _mm512_mask_i32gather_ps(v_ne, alone_ne, o_ne, p, 4);
                v_sw = _mm512_mask_i32gather_ps(v_sw, alone_sw, o_sw, p, 4);
                v_se = _mm512_mask_i32gather_ps(v_se, alone_se, o_se, p, 4);
            }
            __m512 v = _mm512_fmadd_ps(v_ne, w_ne, _mm512_mul_ps(v_nw, w_nw));
            v = _mm512_fmadd_ps(v_se, w_se, _mm512_fmadd_ps(v_sw, w_sw, v));
            v = _mm512_min_ps(one, _mm512_max_ps(zero, _mm512_mul_ps(v, bright)));
            _mm512_mask_storeu_ps(dst + c * plane + y * width + x, lanes, v);
        }
    }
    return width;
}
#endif

/* Pass 1 for a warped image, row by row; returns the gray sum (0 unless
 * `with_gray`). */
static ALWAYS_INLINE int64_t warp_pass(const Shared *s, const Image *im, const float *src,
                                       float *dst, int with_gray, int path)
{
    const int64_t width = s->width, plane = s->height * width;
    int64_t total = 0;
    for (int64_t y = 0; y < s->height; y++) {
        int64_t done = 0;
#ifdef DPA_IMAGES_X86
        if (path == PATH_AVX512)
            done = warp_row_avx512(s, im, src, dst, y);
        else if (path == PATH_AVX2)
            done = warp_row_avx2(s, im, src, dst, y);
#else
        (void)path;
#endif
        warp_pixels(s, im, src, dst, y, done, width);
        if (with_gray) {
            for (int64_t x = 0; x < width; x += CHUNK) {
                const int n = (int)(width - x < CHUNK ? width - x : CHUNK);
                total += gray_sum(s, dst + y * width + x, plane, n);
            }
        }
    }
    return total;
}

/* Pass 1 for an image that is not warped: out = clamp(src * brightness). */
static ALWAYS_INLINE int64_t copy_pass(const Shared *s, const Image *im, const float *src,
                                       const uint8_t *bytes, float *dst, int with_gray)
{
    const int64_t plane = s->height * s->width;
    const int64_t count = s->channels * plane;
    const float bright = im->brightness;
    if (src) {
        for (int64_t i = 0; i < count; i++)
            dst[i] = clamp01(src[i] * bright);
    } else {
        for (int64_t i = 0; i < count; i++)
            dst[i] = clamp01(BYTE_VALUES[bytes[i]] * bright);
    }
    int64_t total = 0;
    if (with_gray) {
        for (int64_t i = 0; i < plane; i += CHUNK) {
            const int n = (int)(plane - i < CHUNK ? plane - i : CHUNK);
            total += gray_sum(s, dst + i, plane, n);
        }
    }
    return total;
}

/* The noise words of pairs j0 + [begin, pairs) of an image (the definition,
 * dpa/integrations/noise.py): word(j) = mix(mix(j ^ k0) ^ k1). */
static ALWAYS_INLINE void noise_words(const Image *im, uint32_t j0, int begin, int pairs,
                                      uint32_t *words)
{
    for (int j = begin; j < pairs; j++)
        words[j] = mix32(mix32((j0 + (uint32_t)j) ^ im->k0) ^ im->k1);
}

/* Box-Muller by table: z[2 j] = float32(RAD[a] * COS[b]), z[2 j + 1] =
 * float32(RAD[a] * SIN[b]), a and b the word's halves. One pair at a time: the
 * loads are scattered over 1.5 MB of tables, and plain loads (COS[b] and SIN[b]
 * side by side, one 16-byte line) beat gathers there. */
static ALWAYS_INLINE void noise_values(const Shared *s, const uint32_t *words, int pairs, float *z)
{
    for (int j = 0; j < pairs; j++) {
        const double r = s->radius[words[j] >> 16];
        const double *cs = s->cossin + 2 * (words[j] & 0xFFFFu);
        z[2 * j] = (float)(r * cs[0]);
        z[2 * j + 1] = (float)(r * cs[1]);
    }
}

#ifdef DPA_IMAGES_X86
#define MIX32_VECTOR(v, shift_right, multiply, xor)                                                \
    do {                                                                                           \
        v = xor(v, shift_right(v, 16));                                                            \
        v = multiply(v, m1);                                                                       \
        v = xor(v, shift_right(v, 15));                                                            \
        v = multiply(v, m2);                                                                       \
        v = xor(v, shift_right(v, 16));                                                            \
    } while (0)

/* noise_words, 8 pairs at a time; returns how many pairs it did. */
__attribute__((target("avx2,fma"))) static int noise_words_avx2(const Image *im, uint32_t j0,
                                                                int pairs, uint32_t *words)
{
    const __m256i k0 = _mm256_set1_epi32((int32_t)im->k0), k1 = _mm256_set1_epi32((int32_t)im->k1);
    const __m256i m1 = _mm256_set1_epi32(0x7FEB352D), m2 = _mm256_set1_epi32((int32_t)0x846CA68Bu);
    const __m256i iota = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    int j = 0;
    for (; j + 8 <= pairs; j += 8) {
        const __m256i counter = _mm256_add_epi32(_mm256_set1_epi32((int32_t)(j0 + (uint32_t)j)), iota);
        __m256i v = _mm256_xor_si256(counter, k0);
        MIX32_VECTOR(v, _mm256_srli_epi32, _mm256_mullo_epi32, _mm256_xor_si256);
        v = _mm256_xor_si256(v, k1);
        MIX32_VECTOR(v, _mm256_srli_epi32, _mm256_mullo_epi32, _mm256_xor_si256);
        _mm256_storeu_si256((__m256i *)(words + j), v);
    }
    return j;
}

/* noise_words, 16 pairs at a time; returns how many pairs it did. */
__attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,avx2,fma"))) static int noise_words_avx512(
    const Image *im, uint32_t j0, int pairs, uint32_t *words)
{
    const __m512i k0 = _mm512_set1_epi32((int32_t)im->k0), k1 = _mm512_set1_epi32((int32_t)im->k1);
    const __m512i m1 = _mm512_set1_epi32(0x7FEB352D), m2 = _mm512_set1_epi32((int32_t)0x846CA68Bu);
    const __m512i iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    int j = 0;
    for (; j + 16 <= pairs; j += 16) {
        const __m512i counter = _mm512_add_epi32(_mm512_set1_epi32((int32_t)(j0 + (uint32_t)j)), iota);
        __m512i v = _mm512_xor_si512(counter, k0);
        MIX32_VECTOR(v, _mm512_srli_epi32, _mm512_mullo_epi32, _mm512_xor_si512);
        v = _mm512_xor_si512(v, k1);
        MIX32_VECTOR(v, _mm512_srli_epi32, _mm512_mullo_epi32, _mm512_xor_si512);
        _mm512_storeu_si512(words + j, v);
    }
    return j;
}
#endif

/* Pass 2: the contrast blend (x = clamp(contrast * x + rest_mean)) where
 * `with_contrast`, then the noise (x = clamp(x + noise * z)) where `with_noise`. */
static ALWAYS_INLINE void finish_pass(const Shared *s, const Image *im, float *dst,
                                      float rest_mean, int with_contrast, int with_noise, int path)
{
    const int64_t count = s->channels * s->height * s->width;
    const float contrast = im->contrast, sigma = im->noise;
    float z[2 * PAIRS];
    uint32_t words[PAIRS];
    for (int64_t e0 = 0; e0 < count; e0 += 2 * PAIRS) {
        const int n = (int)(count - e0 < 2 * PAIRS ? count - e0 : 2 * PAIRS);
        float *d = dst + e0;
        if (with_contrast) {
            for (int i = 0; i < n; i++)
                d[i] = clamp01(contrast * d[i] + rest_mean);
        }
        if (with_noise) {
            const uint32_t j0 = (uint32_t)(e0 / 2);
            const int pairs = (n + 1) / 2;
            int done = 0;
#ifdef DPA_IMAGES_X86
            if (path == PATH_AVX512)
                done = noise_words_avx512(im, j0, pairs, words);
            else if (path == PATH_AVX2)
                done = noise_words_avx2(im, j0, pairs, words);
#else
            (void)path;
#endif
            noise_words(im, j0, done, pairs, words);
            noise_values(s, words, pairs, z);
            for (int i = 0; i < n; i++)
                d[i] = clamp01(d[i] + sigma * z[i]);
        }
    }
}

/* One image: `src` (float32) or `bytes` (uint8) into `dst`; `scratch` holds
 * C x H x W floats for a warped uint8 image (else unused). */
static ALWAYS_INLINE void apply_body(const Shared *s, const Image *im, const float *src,
                                     const uint8_t *bytes, float *dst, float *scratch, int path)
{
    const int with_contrast = !(im->contrast == 1.0f && im->rest == 0.0f);
    const int with_noise = im->noise != 0.0f;
    int64_t total;
    if (im->warp) {
        const int64_t count = s->channels * s->height * s->width;
        if (src) {
            load_into_cache(src, count);
        } else {
            for (int64_t i = 0; i < count; i++)
                scratch[i] = BYTE_VALUES[bytes[i]];
            src = scratch;
        }
        total = warp_pass(s, im, src, dst, with_contrast, path);
    } else {
        total = copy_pass(s, im, src, bytes, dst, with_contrast);
    }
    float rest_mean = 0.0f;
    if (with_contrast) {
        const double pixels = (double)(s->height * s->width);
        const float mean = (float)((double)total / (pixels * 4294967296.0));
        rest_mean = im->rest * mean;
    }
    if (with_contrast || with_noise)
        finish_pass(s, im, dst, rest_mean, with_contrast, with_noise, path);
}

typedef void (*apply_fn)(const Shared *, const Image *, const float *, const uint8_t *, float *,
                         float *);

static void apply_portable(const Shared *s, const Image *im, const float *src, const uint8_t *bytes,
                           float *dst, float *scratch)
{
    apply_body(s, im, src, bytes, dst, scratch, PATH_PORTABLE);
}

#ifdef DPA_IMAGES_X86
__attribute__((target("avx2,fma"))) static void apply_avx2(const Shared *s, const Image *im,
                                                           const float *src, const uint8_t *bytes,
                                                           float *dst, float *scratch)
{
    apply_body(s, im, src, bytes, dst, scratch, PATH_AVX2);
}

__attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,avx2,fma"))) static void apply_avx512(
    const Shared *s, const Image *im, const float *src, const uint8_t *bytes, float *dst,
    float *scratch)
{
    apply_body(s, im, src, bytes, dst, scratch, PATH_AVX512);
}
#endif

static apply_fn apply_impl = apply_portable;
static const char *apply_impl_name = "portable";

/* ------------------------------------------------------------------ Python */

static int check_size(Py_buffer *buf, Py_ssize_t expected, const char *name)
{
    if (buf->len != expected) {
        PyErr_Format(PyExc_ValueError, "%s: expected %zd bytes, got %zd", name, expected, buf->len);
        return -1;
    }
    return 0;
}

/* Guards the cursors of apply_images (one counter update per image). */
static PyThread_type_lock cursor_lock;

/* The next image of a call shared by threads: the cursor's value, incremented. */
static Py_ssize_t claim_image(int64_t *cursor)
{
    PyThread_acquire_lock(cursor_lock, WAIT_LOCK);
    const int64_t image = (*cursor)++;
    PyThread_release_lock(cursor_lock);
    return (Py_ssize_t)image;
}

/* apply_images(src, dst, byte_input, shape, xs, ys, gray, numbers, keys, warp,
 *              radius, cossin, start, end, cursor=None)
 * src: B x C x H x W float32 (byte_input false) or uint8 values; dst: float32 of
 * the same shape. numbers: B x 8 float32 (t00, t01, t10, t11, brightness,
 * contrast, 1 - contrast, noise); keys: B x 2 uint32; warp: B uint8. Images
 * [start, end) are written, without the GIL: in order, or, with `cursor` (a
 * writable int64 the caller sets to `start`, shared by the threads of a batch),
 * each image claimed from it, so that a thread slowed by other work does fewer. */
static PyObject *images_apply(PyObject *module, PyObject *args)
{
    (void)module;
    Py_buffer src = {0}, dst = {0}, xs = {0}, ys = {0}, gray = {0}, numbers = {0}, keys = {0},
              warp = {0}, radius = {0}, cossin = {0}, cursor = {0};
    int byte_input;
    Py_ssize_t batch, channels, height, width, start, end;
    PyObject *cursor_object = Py_None, *result = NULL;
    if (!PyArg_ParseTuple(args, "y*w*p(nnnn)y*y*y*y*y*y*y*y*nn|O", &src, &dst, &byte_input,
                          &batch, &channels, &height, &width, &xs, &ys, &gray, &numbers, &keys,
                          &warp, &radius, &cossin, &start, &end, &cursor_object))
        return NULL;
    float *scratch = NULL;
    if (cursor_object != Py_None) {
        if (PyObject_GetBuffer(cursor_object, &cursor, PyBUF_WRITABLE) < 0)
            goto done;
        if (cursor.len != sizeof(int64_t) || (uintptr_t)cursor.buf % sizeof(int64_t)) {
            PyErr_SetString(PyExc_ValueError, "cursor: expected one aligned int64");
            goto done;
        }
    }
    if (batch < 0 || channels < 1 || height < 1 || width < 1 || height > INT32_MAX ||
        width > INT32_MAX || channels * height > INT64_MAX / width ||
        channels * height * width > ((int64_t)1 << 31)) {
        PyErr_SetString(PyExc_ValueError, "shape: expected B >= 0, C, H, W >= 1, C*H*W <= 2**31");
        goto done;
    }
    if (start < 0 || end < start || end > batch) {
        PyErr_SetString(PyExc_ValueError, "start/end out of range");
        goto done;
    }
    const Py_ssize_t count = channels * height * width;
    if (check_size(&src, batch * count * (byte_input ? 1 : 4), "src") < 0 ||
        check_size(&dst, batch * count * 4, "dst") < 0 || check_size(&xs, width * 4, "xs") < 0 ||
        check_size(&ys, height * 4, "ys") < 0 || check_size(&gray, 3 * 4, "gray") < 0 ||
        check_size(&numbers, batch * 8 * 4, "numbers") < 0 ||
        check_size(&keys, batch * 2 * 4, "keys") < 0 || check_size(&warp, batch, "warp") < 0 ||
        check_size(&radius, TABLE_SIZE * 8, "radius") < 0 ||
        check_size(&cossin, 2 * TABLE_SIZE * 8, "cossin") < 0)
        goto done;
    if (src.buf == dst.buf && count > 0 && batch > 0) {
        PyErr_SetString(PyExc_ValueError, "dst must not be src");
        goto done;
    }
    const uint8_t *warp_flags = warp.buf;
    int need_scratch = 0;
    for (Py_ssize_t b = start; b < end; b++)
        need_scratch |= byte_input && warp_flags[b];
    if (need_scratch) {
        scratch = malloc(sizeof(float) * (size_t)count);
        if (!scratch) {
            PyErr_NoMemory();
            goto done;
        }
    }
    Shared shared = {channels, height, width, xs.buf, ys.buf, {0}, radius.buf, cossin.buf};
    memcpy(shared.gray, gray.buf, sizeof shared.gray);
    const float *values = numbers.buf;
    const uint32_t *key_words = keys.buf;
    apply_fn fn = apply_impl;
    int64_t *shared_cursor = cursor.buf;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t next = start;;) {
        const Py_ssize_t b = shared_cursor ? claim_image(shared_cursor) : next++;
        if (b < start || b >= end)
            break;
        Image im;
        memcpy(im.theta, values + 8 * b, sizeof im.theta);
        im.brightness = values[8 * b + 4];
        im.contrast = values[8 * b + 5];
        im.rest = values[8 * b + 6];
        im.noise = values[8 * b + 7];
        im.k0 = key_words[2 * b];
        im.k1 = key_words[2 * b + 1];
        im.warp = warp_flags[b] != 0;
        const float *fsrc = byte_input ? NULL : (const float *)src.buf + b * count;
        const uint8_t *bsrc = byte_input ? (const uint8_t *)src.buf + b * count : NULL;
        fn(&shared, &im, fsrc, bsrc, (float *)dst.buf + b * count, scratch);
    }
    Py_END_ALLOW_THREADS
    result = Py_NewRef(Py_None);
done:
    free(scratch);
    PyBuffer_Release(&src);
    PyBuffer_Release(&dst);
    PyBuffer_Release(&xs);
    PyBuffer_Release(&ys);
    PyBuffer_Release(&gray);
    PyBuffer_Release(&numbers);
    PyBuffer_Release(&keys);
    PyBuffer_Release(&warp);
    PyBuffer_Release(&radius);
    PyBuffer_Release(&cossin);
    PyBuffer_Release(&cursor);
    return result;
}

/* images_select(name): "portable", "avx2", "avx512" or "best" (the fastest the
 * CPU has); returns the name in use. Meant for tests and benchmarks; not to be
 * called while another thread applies. */
static PyObject *images_select(PyObject *module, PyObject *arg)
{
    (void)module;
    const char *name = PyUnicode_AsUTF8(arg);
    if (!name)
        return NULL;
    int best = strcmp(name, "best") == 0;
    if (!best && strcmp(name, "portable") && strcmp(name, "avx2") && strcmp(name, "avx512")) {
        PyErr_SetString(PyExc_ValueError, "expected 'portable', 'avx2', 'avx512' or 'best'");
        return NULL;
    }
    apply_fn fn = apply_portable;
    const char *chosen = "portable";
#ifdef DPA_IMAGES_X86
    __builtin_cpu_init();
    int has_avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    int has_avx512 = has_avx2 && __builtin_cpu_supports("avx512f") &&
                     __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw") &&
                     __builtin_cpu_supports("avx512vl");
    if ((best || !strcmp(name, "avx512")) && has_avx512) {
        fn = apply_avx512;
        chosen = "avx512";
    } else if ((best || !strcmp(name, "avx2") || !strcmp(name, "avx512")) && has_avx2) {
        fn = apply_avx2;
        chosen = "avx2";
    }
#endif
    if (!best && strcmp(name, chosen)) {
        PyErr_Format(PyExc_ValueError, "this CPU cannot run the %s code path", name);
        return NULL;
    }
    apply_impl = fn;
    apply_impl_name = chosen;
    return PyUnicode_FromString(chosen);
}

static PyObject *images_path(PyObject *module, PyObject *unused)
{
    (void)module;
    (void)unused;
    return PyUnicode_FromString(apply_impl_name);
}

static PyMethodDef images_methods[] = {
    {"apply_images", images_apply, METH_VARARGS,
     "apply_images(src, dst, byte_input, shape, xs, ys, gray, numbers, keys, warp, radius, "
     "cossin, start, end, cursor=None): images [start, end) augmented into dst."},
    {"images_select", images_select, METH_O,
     "images_select(name): the code path of apply_images ('portable', 'avx2', 'avx512' or "
     "'best'); returns the one in use."},
    {"images_path", images_path, METH_NOARGS, "The code path apply_images uses."},
    {NULL, NULL, 0, NULL},
};

/* Adds the image functions to the kernel module (called by its init). */
int dpa_images_init(PyObject *module)
{
    cursor_lock = PyThread_allocate_lock();
    if (!cursor_lock) {
        PyErr_NoMemory();
        return -1;
    }
    for (int u = 0; u < 256; u++)
        BYTE_VALUES[u] = (float)u / 255.0f;
    PyObject *best = PyUnicode_FromString("best");
    PyObject *chosen = best ? images_select(module, best) : NULL;
    Py_XDECREF(best);
    if (!chosen)
        return -1;
    Py_DECREF(chosen);
    return PyModule_AddFunctions(module, images_methods);
}
