/*
 * dpa native kernel: the DPA v0.2 chain (SHA-256 steps, then the first ten
 * Mersenne Twister outputs) for many samples at once, bit-identical to core.py.
 *
 *   h = sha256(key); for i < depth: h = sha256(hex(h) + decimal(fib(i)))
 *   seed = last 32 bits of h; MT19937 init_by_array([seed]); five random() draws
 *   value = lo + (hi - lo) * random()
 *
 * SHA-256 runs on the CPU's SHA extensions when present (checked at run time),
 * else on portable C. The Mersenne Twister seeding, a long serial chain per
 * sample, is computed for LANES samples side by side so the core overlaps them.
 * Built with -ffp-contract=off: lo + w * r must round as Python rounds it.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(_M_X64)
#define DPA_X86 1
#include <immintrin.h>
#endif

/* ------------------------------------------------------------------ SHA-256 */

static const uint32_t K256[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static const uint32_t IV256[8] = {
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
};

#define ROTR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static inline uint32_t load_be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static inline void store_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* The portable compression function: one 64-byte block into state[8]. */
static void compress_portable(uint32_t state[8], const uint8_t *block)
{
    uint32_t w[64];
    for (int t = 0; t < 16; t++)
        w[t] = load_be32(block + 4 * t);
    for (int t = 16; t < 64; t++) {
        uint32_t s0 = ROTR(w[t - 15], 7) ^ ROTR(w[t - 15], 18) ^ (w[t - 15] >> 3);
        uint32_t s1 = ROTR(w[t - 2], 17) ^ ROTR(w[t - 2], 19) ^ (w[t - 2] >> 10);
        w[t] = w[t - 16] + s0 + w[t - 7] + s1;
    }
    uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
    uint32_t e = state[4], f = state[5], g = state[6], h = state[7];
    for (int t = 0; t < 64; t++) {
        uint32_t t1 = h + (ROTR(e, 6) ^ ROTR(e, 11) ^ ROTR(e, 25)) + ((e & f) ^ (~e & g)) + K256[t] + w[t];
        uint32_t t2 = (ROTR(a, 2) ^ ROTR(a, 13) ^ ROTR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        h = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + t2;
    }
    state[0] += a;
    state[1] += b;
    state[2] += c;
    state[3] += d;
    state[4] += e;
    state[5] += f;
    state[6] += g;
    state[7] += h;
}

static const char HEX_DIGITS[16] = {'0', '1', '2', '3', '4', '5', '6', '7',
                                    '8', '9', 'a', 'b', 'c', 'd', 'e', 'f'};

static void hex_portable(const uint32_t state[8], uint8_t out[64])
{
    for (int i = 0; i < 8; i++) {
        uint32_t v = state[i];
        for (int k = 7; k >= 0; k--) {
            out[8 * i + k] = (uint8_t)HEX_DIGITS[v & 0xF];
            v >>= 4;
        }
    }
}

/* The padded blocks that follow the 64 hex digits in each chain step: the
 * digits of fib(i), 0x80, zeros, and the bit length. The same for every sample. */
typedef struct {
    int depth;
    uint8_t *blocks;  /* all tail blocks, step after step */
    int *first;       /* first[i]: index of step i's first tail block */
    int *count;       /* count[i]: how many tail blocks step i has */
} Tails;

static void tails_free(Tails *t)
{
    free(t->blocks);
    free(t->first);
    free(t->count);
    t->blocks = NULL;
    t->first = t->count = NULL;
}

/* Pads `len` bytes of message (already at `buf`) in place; returns the number
 * of 64-byte blocks. `buf` must have room for len + 72 bytes. `total_len` is the
 * length of the whole message the padding closes (counting earlier blocks). */
static size_t pad_message(uint8_t *buf, size_t len, uint64_t total_len)
{
    size_t blocks = (len + 9 + 63) / 64;
    memset(buf + len, 0, blocks * 64 - len);
    buf[len] = 0x80;
    uint64_t bits = total_len * 8;
    for (int k = 0; k < 8; k++)
        buf[blocks * 64 - 1 - k] = (uint8_t)(bits >> (8 * k));
    return blocks;
}

/* ------------------------------------------------------- SHA-256 extensions */
#ifdef DPA_X86

#define SHA_TARGET __attribute__((target("sha,sse4.1,ssse3")))

static const uint8_t BSWAP_MASK_BYTES[16] = {3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12};

/* The state lives as two vectors, ABEF and CDGH, the layout the SHA
 * instructions use; it is converted only to read the digest. */
SHA_TARGET static inline void shani_compress(__m128i *abef, __m128i *cdgh, const uint8_t *block)
{
    const __m128i bswap = _mm_loadu_si128((const __m128i *)BSWAP_MASK_BYTES);
    __m128i s0 = *abef, s1 = *cdgh;
    const __m128i save0 = s0, save1 = s1;
    __m128i m[4];
    for (int q = 0; q < 4; q++)
        m[q] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(block + 16 * q)), bswap);
    for (int g = 0; g < 16; g++) {
        __m128i cur = m[g & 3];
        __m128i msg = _mm_add_epi32(cur, _mm_loadu_si128((const __m128i *)(K256 + 4 * g)));
        s1 = _mm_sha256rnds2_epu32(s1, s0, msg);
        s0 = _mm_sha256rnds2_epu32(s0, s1, _mm_shuffle_epi32(msg, 0x0E));
        if (g < 12) {
            /* W[t..t+3] for the group g + 4, from the groups g .. g+3 */
            __m128i w0 = m[g & 3], w1 = m[(g + 1) & 3], w2 = m[(g + 2) & 3], w3 = m[(g + 3) & 3];
            __m128i t = _mm_sha256msg1_epu32(w0, w1);
            t = _mm_add_epi32(t, _mm_alignr_epi8(w3, w2, 4));
            m[g & 3] = _mm_sha256msg2_epu32(t, w3);
        }
    }
    *abef = _mm_add_epi32(s0, save0);
    *cdgh = _mm_add_epi32(s1, save1);
}

SHA_TARGET static inline void shani_from_words(const uint32_t h[8], __m128i *abef, __m128i *cdgh)
{
    __m128i t = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)h), 0xB1);       /* CDAB */
    __m128i s1 = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)(h + 4)), 0x1B); /* EFGH */
    *abef = _mm_alignr_epi8(t, s1, 8);
    *cdgh = _mm_blend_epi16(s1, t, 0xF0);
}

/* The digest as big-endian bytes (what hexdigest prints), from ABEF/CDGH. */
SHA_TARGET static inline void shani_digest(__m128i abef, __m128i cdgh, __m128i *lo, __m128i *hi)
{
    const __m128i bswap = _mm_loadu_si128((const __m128i *)BSWAP_MASK_BYTES);
    __m128i t = _mm_shuffle_epi32(abef, 0x1B);  /* FEBA */
    __m128i u = _mm_shuffle_epi32(cdgh, 0xB1);  /* DCHG */
    __m128i h0123 = _mm_blend_epi16(t, u, 0xF0); /* DCBA: H0..H3 in lanes 0..3 */
    __m128i h4567 = _mm_alignr_epi8(u, t, 8);    /* H4..H7 */
    *lo = _mm_shuffle_epi8(h0123, bswap);
    *hi = _mm_shuffle_epi8(h4567, bswap);
}

/* 16 digest bytes -> 32 lower-case hex characters. */
SHA_TARGET static inline void shani_hex16(__m128i bytes, uint8_t *out)
{
    const __m128i table = _mm_loadu_si128((const __m128i *)"0123456789abcdef");
    const __m128i nibble = _mm_set1_epi8(0x0F);
    __m128i high = _mm_and_si128(_mm_srli_epi16(bytes, 4), nibble);
    __m128i low = _mm_and_si128(bytes, nibble);
    _mm_storeu_si128((__m128i *)out, _mm_shuffle_epi8(table, _mm_unpacklo_epi8(high, low)));
    _mm_storeu_si128((__m128i *)(out + 16), _mm_shuffle_epi8(table, _mm_unpackhi_epi8(high, low)));
}

/* The whole chain of one sample. `msg` holds the padded first message. */
SHA_TARGET static void chain_shani(const uint8_t *msg, size_t msg_blocks, const Tails *tails,
                                   uint8_t hex_out[64], uint32_t words[8])
{
    __m128i iv_abef, iv_cdgh, abef, cdgh, lo, hi;
    uint8_t hex[64];
    shani_from_words(IV256, &iv_abef, &iv_cdgh);
    abef = iv_abef;
    cdgh = iv_cdgh;
    for (size_t b = 0; b < msg_blocks; b++)
        shani_compress(&abef, &cdgh, msg + 64 * b);
    for (int step = 0; step < tails->depth; step++) {
        shani_digest(abef, cdgh, &lo, &hi);
        shani_hex16(lo, hex);
        shani_hex16(hi, hex + 32);
        abef = iv_abef;
        cdgh = iv_cdgh;
        shani_compress(&abef, &cdgh, hex);
        const uint8_t *tail = tails->blocks + 64 * (size_t)tails->first[step];
        for (int b = 0; b < tails->count[step]; b++)
            shani_compress(&abef, &cdgh, tail + 64 * b);
    }
    shani_digest(abef, cdgh, &lo, &hi);
    shani_hex16(lo, hex_out);
    shani_hex16(hi, hex_out + 32);
    uint8_t digest[32];
    _mm_storeu_si128((__m128i *)digest, lo);
    _mm_storeu_si128((__m128i *)(digest + 16), hi);
    for (int k = 0; k < 8; k++)
        words[k] = load_be32(digest + 4 * k); /* H0 .. H7 */
}

#endif /* DPA_X86 */

static void chain_portable(const uint8_t *msg, size_t msg_blocks, const Tails *tails,
                           uint8_t hex_out[64], uint32_t words[8])
{
    uint32_t state[8];
    uint8_t hex[64];
    memcpy(state, IV256, sizeof state);
    for (size_t b = 0; b < msg_blocks; b++)
        compress_portable(state, msg + 64 * b);
    for (int step = 0; step < tails->depth; step++) {
        hex_portable(state, hex);
        memcpy(state, IV256, sizeof state);
        compress_portable(state, hex);
        const uint8_t *tail = tails->blocks + 64 * (size_t)tails->first[step];
        for (int b = 0; b < tails->count[step]; b++)
            compress_portable(state, tail + 64 * b);
    }
    hex_portable(state, hex_out);
    memcpy(words, state, sizeof state);
}

typedef void (*chain_fn)(const uint8_t *, size_t, const Tails *, uint8_t *, uint32_t[8]);
static chain_fn chain_impl = chain_portable;
static const char *sha_impl_name = "portable";

/* ------------------------------------------------------- Mersenne Twister */

#define MT_N 624
#define MT_M 397
#define LANES 32

/* init_genrand(19650218): where init_by_array starts, the same for every seed. */
static uint32_t MT_BASE[MT_N];

static void mt_base_init(void)
{
    MT_BASE[0] = 19650218u;
    for (uint32_t i = 1; i < MT_N; i++)
        MT_BASE[i] = 1812433253u * (MT_BASE[i - 1] ^ (MT_BASE[i - 1] >> 30)) + i;
}

static inline uint32_t mt_temper(uint32_t y)
{
    y ^= y >> 11;
    y ^= (y << 7) & 0x9d2c5680u;
    y ^= (y << 15) & 0xefc60000u;
    y ^= y >> 18;
    return y;
}

/* The generator's key, as init_by_array uses it: the words of the seed, least
 * significant first, as random.Random(seed) splits a Python int (1 to 8 of them:
 * no leading zero words, at least one), each with its index added. */
typedef struct {
    uint32_t add[8];
    int len;
} MTKey;

/* seed_words = 1: the seed is the digest's last 32 bits (DPA v0.2);
 * seed_words = 8: the seed is the whole 256-bit digest. */
static inline void mt_key(const uint32_t words[8], int seed_words, MTKey *key)
{
    if (seed_words == 1) {
        key->add[0] = words[7];
        key->len = 1;
        return;
    }
    int len = 8;
    while (len > 1 && words[8 - len] == 0) /* the top word is H0 */
        len--;
    for (int j = 0; j < len; j++)
        key->add[j] = words[7 - j] + (uint32_t)j;
    key->len = len;
}

/* random() from two outputs, as CPython computes it. */
static inline double mt_double(uint32_t first, uint32_t second)
{
    uint32_t a = first >> 5, b = second >> 6;
    return ((double)a * 67108864.0 + (double)b) * (1.0 / 9007199254740992.0);
}

/* The five random() values from the final state words 0..10 and 397..406:
 * the first ten outputs, in pairs. */
static inline void mt_outputs(const uint32_t low[11], const uint32_t high[10], double r[5])
{
    uint32_t out[10];
    for (int k = 0; k < 10; k++) {
        uint32_t y = (low[k] & 0x80000000u) | (low[k + 1] & 0x7fffffffu);
        uint32_t v = high[k] ^ (y >> 1) ^ ((y & 1u) ? 0x9908b0dfu : 0u);
        out[k] = mt_temper(v);
    }
    for (int j = 0; j < 5; j++)
        r[j] = mt_double(out[2 * j], out[2 * j + 1]);
}

/* init_by_array(key) from the init_genrand(19650218) state: MT_N steps that mix
 * the key in (the last one lands on mt[1] again), then MT_N - 1 more. */
static void mt_draws_one(const MTKey *key, double r[5])
{
    uint32_t a[MT_N];
    uint32_t prev = MT_BASE[0];
    int j = 0;
    for (int i = 1; i < MT_N; i++) {
        a[i] = (MT_BASE[i] ^ ((prev ^ (prev >> 30)) * 1664525u)) + key->add[j];
        prev = a[i];
        if (++j == key->len)
            j = 0;
    }
    a[0] = a[MT_N - 1];
    a[1] = (a[1] ^ ((a[0] ^ (a[0] >> 30)) * 1664525u)) + key->add[j]; /* the 624th step */
    prev = a[1];
    uint32_t low[11], high[10];
    for (int i = 2; i < MT_N; i++) {
        uint32_t cur = (a[i] ^ ((prev ^ (prev >> 30)) * 1566083941u)) - (uint32_t)i;
        if (i <= 10)
            low[i] = cur;
        else if (i >= MT_M && i < MT_M + 10)
            high[i - MT_M] = cur;
        prev = cur;
    }
    low[1] = (a[1] ^ ((prev ^ (prev >> 30)) * 1566083941u)) - 1u; /* mt[0] = mt[623] */
    low[0] = 0x80000000u;
    mt_outputs(low, high, r);
}

/* The same for LANES keys of one length side by side: each step is one short
 * loop over the lanes, which the compiler turns into vector instructions.
 * add[j][l] is word j of lane l's key; `work` holds MT_N * LANES words. */
#define MT_LANES_BODY                                                                        \
    {                                                                                        \
        uint32_t prev[LANES], low[11][LANES], high[10][LANES];                               \
        int j = 0;                                                                           \
        for (int l = 0; l < LANES; l++)                                                      \
            prev[l] = MT_BASE[0];                                                            \
        for (int i = 1; i < MT_N; i++) {                                                     \
            uint32_t base = MT_BASE[i];                                                      \
            uint32_t *row = work + (size_t)i * LANES;                                        \
            const uint32_t *k = add[j];                                                      \
            for (int l = 0; l < LANES; l++) {                                                \
                uint32_t cur = (base ^ ((prev[l] ^ (prev[l] >> 30)) * 1664525u)) + k[l];     \
                row[l] = cur;                                                                \
                prev[l] = cur;                                                               \
            }                                                                                \
            if (++j == len)                                                                  \
                j = 0;                                                                       \
        }                                                                                    \
        uint32_t *row1 = work + LANES;                                                       \
        for (int l = 0; l < LANES; l++) {                                                    \
            row1[l] = (row1[l] ^ ((prev[l] ^ (prev[l] >> 30)) * 1664525u)) + add[j][l];      \
            prev[l] = row1[l];                                                               \
        }                                                                                    \
        for (int i = 2; i < MT_N; i++) {                                                     \
            const uint32_t *row = work + (size_t)i * LANES;                                  \
            uint32_t minus = (uint32_t)i;                                                    \
            for (int l = 0; l < LANES; l++)                                                  \
                prev[l] = (row[l] ^ ((prev[l] ^ (prev[l] >> 30)) * 1566083941u)) - minus;    \
            if (i <= 10)                                                                     \
                memcpy(low[i], prev, sizeof prev);                                           \
            else if (i >= MT_M && i < MT_M + 10)                                             \
                memcpy(high[i - MT_M], prev, sizeof prev);                                   \
        }                                                                                    \
        for (int l = 0; l < LANES; l++) {                                                    \
            low[1][l] = (row1[l] ^ ((prev[l] ^ (prev[l] >> 30)) * 1566083941u)) - 1u;        \
            low[0][l] = 0x80000000u;                                                         \
        }                                                                                    \
        for (int l = 0; l < LANES; l++) {                                                    \
            uint32_t lo_words[11], hi_words[10];                                             \
            for (int k = 0; k < 11; k++)                                                     \
                lo_words[k] = low[k][l];                                                     \
            for (int k = 0; k < 10; k++)                                                     \
                hi_words[k] = high[k][l];                                                    \
            mt_outputs(lo_words, hi_words, r + 5 * l);                                       \
        }                                                                                    \
    }

static void mt_draws_lanes_portable(uint32_t add[8][LANES], int len, uint32_t *work, double *r)
    MT_LANES_BODY

#ifdef DPA_X86
__attribute__((target("avx2"))) static void mt_draws_lanes_avx2(uint32_t add[8][LANES], int len,
                                                                  uint32_t *work, double *r)
    MT_LANES_BODY
#endif

typedef void (*lanes_fn)(uint32_t (*)[LANES], int, uint32_t *, double *);
static lanes_fn mt_lanes_impl = mt_draws_lanes_portable;
static const char *mt_impl_name = "portable";

/* ------------------------------------------------------------ generation */

typedef struct {
    double lo[5], width[5];
} Ranges;

/* Writes ASCII decimal digits of v at `out`; returns how many. */
static size_t write_decimal(uint64_t v, uint8_t *out)
{
    uint8_t tmp[20];
    size_t n = 0;
    do {
        tmp[n++] = (uint8_t)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t k = 0; k < n; k++)
        out[k] = tmp[n - 1 - k];
    return n;
}

/* The keys of one batch: ids with a prefix, or whole keys given as bytes. */
typedef struct {
    const uint64_t *ids;        /* when not NULL: key i = prefix + decimal(ids[i]) */
    const uint8_t *prefix;
    size_t prefix_len;
    const uint8_t *const *keys; /* else: key i = keys[i][0 .. key_lens[i]) */
    const size_t *key_lens;
    size_t max_len;             /* longest key */
} Keys;

static size_t build_first_message(const Keys *keys, size_t i, uint8_t *buf)
{
    size_t len;
    if (keys->ids) {
        memcpy(buf, keys->prefix, keys->prefix_len);
        len = keys->prefix_len + write_decimal(keys->ids[i], buf + keys->prefix_len);
    } else {
        len = keys->key_lens[i];
        memcpy(buf, keys->keys[i], len);
    }
    return pad_message(buf, len, len);
}

/* The five random() values of each of `lanes` samples (at most LANES) from
 * their digest words: side by side when their keys have one length (always, in
 * practice), one by one otherwise. `work` holds MT_N * LANES words. */
static void draw_group(uint32_t words[LANES][8], size_t lanes, int seed_words, uint32_t *work,
                       double *r)
{
    MTKey keys[LANES];
    int uniform = 1;
    for (size_t l = 0; l < LANES; l++) {
        if (l >= lanes)
            memset(words[l], 0, sizeof words[l]);
        mt_key(words[l], seed_words, &keys[l]);
        uniform &= l >= lanes || keys[l].len == keys[0].len;
    }
    if (lanes == 1 || !uniform) {
        for (size_t l = 0; l < lanes; l++)
            mt_draws_one(&keys[l], r + 5 * l);
        return;
    }
    uint32_t add[8][LANES];
    for (int j = 0; j < 8; j++)
        for (size_t l = 0; l < LANES; l++)
            add[j][l] = keys[l].add[j < keys[l].len ? j : 0];
    mt_lanes_impl(add, keys[0].len, work, r);
}

/* Samples [start, end) of a batch: values[p * n + i] and hashes[64 * i]. Runs
 * without the GIL. Returns 0, or -1 when memory ran out. */
static int generate_range(const Keys *keys, const Tails *tails, const Ranges *ranges,
                          int seed_words, size_t n, size_t start, size_t end, double *values,
                          uint8_t *hashes)
{
    uint8_t *msg = malloc(keys->max_len + 128);
    uint32_t *work = malloc(sizeof(uint32_t) * MT_N * LANES);
    if (!msg || !work) {
        free(msg);
        free(work);
        return -1;
    }
    uint32_t words[LANES][8];
    double r[5 * LANES];
    for (size_t group = start; group < end; group += LANES) {
        size_t lanes = end - group < LANES ? end - group : LANES;
        for (size_t l = 0; l < lanes; l++) {
            size_t blocks = build_first_message(keys, group + l, msg);
            chain_impl(msg, blocks, tails, hashes + 64 * (group + l), words[l]);
        }
        draw_group(words, lanes, seed_words, work, r);
        for (size_t l = 0; l < lanes; l++)
            for (int p = 0; p < 5; p++)
                values[(size_t)p * n + group + l] = ranges->lo[p] + ranges->width[p] * r[5 * l + p];
    }
    free(msg);
    free(work);
    return 0;
}

/* --------------------------------------------------------- Python: Chain */

typedef struct {
    PyObject_HEAD
    Tails tails;
} ChainObject;

static void Chain_dealloc(ChainObject *self)
{
    tails_free(&self->tails);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* Chain(salts): salts is a tuple of bytes, decimal(fib(i)) for each step. */
static int Chain_init(ChainObject *self, PyObject *args, PyObject *kwds)
{
    PyObject *salts;
    static char *kwlist[] = {"salts", NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O!", kwlist, &PyTuple_Type, &salts))
        return -1;
    tails_free(&self->tails);
    Py_ssize_t depth = PyTuple_GET_SIZE(salts);
    if (depth < 1 || depth > INT32_MAX / 4) {
        PyErr_SetString(PyExc_ValueError, "salts: expected 1 or more steps");
        return -1;
    }
    size_t total = 0;
    for (Py_ssize_t i = 0; i < depth; i++) {
        PyObject *salt = PyTuple_GET_ITEM(salts, i);
        if (!PyBytes_Check(salt)) {
            PyErr_SetString(PyExc_TypeError, "salts: expected a tuple of bytes");
            return -1;
        }
        total += ((size_t)PyBytes_GET_SIZE(salt) + 9 + 63) / 64;
    }
    Tails *t = &self->tails;
    t->depth = (int)depth;
    t->blocks = malloc(64 * total);
    t->first = malloc(sizeof(int) * (size_t)depth);
    t->count = malloc(sizeof(int) * (size_t)depth);
    if (!t->blocks || !t->first || !t->count) {
        tails_free(t);
        PyErr_NoMemory();
        return -1;
    }
    size_t at = 0;
    for (Py_ssize_t i = 0; i < depth; i++) {
        PyObject *salt = PyTuple_GET_ITEM(salts, i);
        size_t len = (size_t)PyBytes_GET_SIZE(salt);
        size_t blocks = (len + 9 + 63) / 64;
        uint8_t *buf = malloc(blocks * 64 + 72);
        if (!buf) {
            tails_free(t);
            PyErr_NoMemory();
            return -1;
        }
        memcpy(buf, PyBytes_AS_STRING(salt), len);
        pad_message(buf, len, 64 + (uint64_t)len); /* after the 64 hex digits */
        memcpy(t->blocks + 64 * at, buf, 64 * blocks);
        free(buf);
        t->first[i] = (int)at;
        t->count[i] = (int)blocks;
        at += blocks;
    }
    return 0;
}

static int check_seed_words(int seed_words)
{
    if (seed_words != 1 && seed_words != 8) {
        PyErr_SetString(PyExc_ValueError, "seed_words: expected 1 (DPA v0.2) or 8 (whole digest)");
        return -1;
    }
    return 0;
}

static int parse_ranges(Py_buffer *buf, Ranges *ranges)
{
    if (buf->len != (Py_ssize_t)(10 * sizeof(double))) {
        PyErr_SetString(PyExc_ValueError, "ranges: expected 10 float64 values (lo, width) x 5");
        return -1;
    }
    const double *v = buf->buf;
    for (int p = 0; p < 5; p++) {
        ranges->lo[p] = v[2 * p];
        ranges->width[p] = v[2 * p + 1];
    }
    return 0;
}

static int check_outputs(Py_buffer *values, Py_buffer *hashes, Py_ssize_t n, Py_ssize_t start,
                         Py_ssize_t end)
{
    if (values->len != n * 5 * (Py_ssize_t)sizeof(double) || hashes->len != n * 64) {
        PyErr_SetString(PyExc_ValueError, "outputs: expected 5 * n float64 values and 64 * n bytes");
        return -1;
    }
    if (start < 0 || end < start || end > n) {
        PyErr_SetString(PyExc_ValueError, "start/end out of range");
        return -1;
    }
    return 0;
}

/* generate_range without the GIL; 0, or -1 with MemoryError set. */
static int run_range(ChainObject *self, const Keys *keys, const Ranges *ranges, int seed_words,
                     Py_ssize_t n, Py_ssize_t start, Py_ssize_t end, Py_buffer *values,
                     Py_buffer *hashes)
{
    int status;
    Py_BEGIN_ALLOW_THREADS
    status = generate_range(keys, &self->tails, ranges, seed_words, (size_t)n, (size_t)start,
                            (size_t)end, values->buf, hashes->buf);
    Py_END_ALLOW_THREADS
    if (status < 0)
        PyErr_NoMemory();
    return status;
}

/* chain.fill_ids(ids, prefix, ranges, values, hashes, start, end, seed_words)
 * ids: uint64 buffer of n ids; values: 5 * n float64 (parameter-major);
 * hashes: 64 * n bytes. Fills samples [start, end) without the GIL. */
static PyObject *Chain_fill_ids(ChainObject *self, PyObject *args)
{
    Py_buffer ids = {0}, prefix = {0}, rbuf = {0}, values = {0}, hashes = {0};
    Py_ssize_t start, end;
    PyObject *result = NULL;
    int seed_words;
    if (!PyArg_ParseTuple(args, "y*y*y*w*w*nni", &ids, &prefix, &rbuf, &values, &hashes, &start,
                          &end, &seed_words))
        return NULL;
    Ranges ranges;
    Py_ssize_t n = ids.len / (Py_ssize_t)sizeof(uint64_t);
    if (ids.len % (Py_ssize_t)sizeof(uint64_t)) {
        PyErr_SetString(PyExc_ValueError, "ids: expected a uint64 buffer");
        goto done;
    }
    if (parse_ranges(&rbuf, &ranges) < 0 || check_outputs(&values, &hashes, n, start, end) < 0 ||
        check_seed_words(seed_words) < 0)
        goto done;
    Keys keys = {ids.buf, prefix.buf, (size_t)prefix.len, NULL, NULL, (size_t)prefix.len + 20};
    if (run_range(self, &keys, &ranges, seed_words, n, start, end, &values, &hashes) == 0)
        result = Py_NewRef(Py_None);
done:
    PyBuffer_Release(&ids);
    PyBuffer_Release(&prefix);
    PyBuffer_Release(&rbuf);
    PyBuffer_Release(&values);
    PyBuffer_Release(&hashes);
    return result;
}

/* chain.fill_keys(keys, ranges, values, hashes, start, end, seed_words): keys is
 * a list of bytes (whole keys, for ids beyond 64 bits). */
static PyObject *Chain_fill_keys(ChainObject *self, PyObject *args)
{
    PyObject *list;
    Py_buffer rbuf = {0}, values = {0}, hashes = {0};
    Py_ssize_t start, end;
    PyObject *result = NULL;
    PyObject *frozen = NULL;
    const uint8_t **ptrs = NULL;
    size_t *lens = NULL;
    int seed_words;
    if (!PyArg_ParseTuple(args, "O!y*w*w*nni", &PyList_Type, &list, &rbuf, &values, &hashes, &start,
                          &end, &seed_words))
        return NULL;
    Ranges ranges;
    Py_ssize_t n = PyList_GET_SIZE(list);
    if (parse_ranges(&rbuf, &ranges) < 0 || check_outputs(&values, &hashes, n, start, end) < 0 ||
        check_seed_words(seed_words) < 0)
        goto done;
    /* A copy of the list holds every key alive while the GIL is released, even
     * if the caller's list changes meanwhile. */
    frozen = PyList_GetSlice(list, 0, n);
    ptrs = malloc(sizeof *ptrs * (size_t)(n ? n : 1));
    lens = malloc(sizeof *lens * (size_t)(n ? n : 1));
    if (!frozen || !ptrs || !lens) {
        if (!PyErr_Occurred())
            PyErr_NoMemory();
        goto done;
    }
    size_t max_len = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *key = PyList_GET_ITEM(frozen, i);
        if (!PyBytes_Check(key)) {
            PyErr_SetString(PyExc_TypeError, "keys: expected a list of bytes");
            goto done;
        }
        ptrs[i] = (const uint8_t *)PyBytes_AS_STRING(key);
        lens[i] = (size_t)PyBytes_GET_SIZE(key);
        if (lens[i] > max_len)
            max_len = lens[i];
    }
    Keys keys = {NULL, NULL, 0, ptrs, lens, max_len};
    if (run_range(self, &keys, &ranges, seed_words, n, start, end, &values, &hashes) == 0)
        result = Py_NewRef(Py_None);
done:
    Py_XDECREF(frozen);
    free(ptrs);
    free(lens);
    PyBuffer_Release(&rbuf);
    PyBuffer_Release(&values);
    PyBuffer_Release(&hashes);
    return result;
}

/* Interned dict keys of one sample's parameters. */
static PyObject *PARAM_KEYS[6];

/* chain.one(key, ranges) -> {"rotation", "brightness", "noise", "scale",
 * "contrast", "hash"}: the per-sample path. key: the whole key as bytes, or an
 * int id below 2**64 (its decimal digits are the key). */
static PyObject *Chain_one(ChainObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs < 2 || nargs > 3 || !(PyBytes_Check(args[0]) || PyLong_CheckExact(args[0])) ||
        !PyBytes_Check(args[1]) || (nargs == 3 && !PyLong_CheckExact(args[2]))) {
        PyErr_SetString(PyExc_TypeError, "one(key: bytes | int, ranges: bytes, seed_words: int = 1)");
        return NULL;
    }
    int seed_words = nargs == 3 ? (int)PyLong_AsLong(args[2]) : 1;
    if (check_seed_words(seed_words) < 0)
        return NULL;
    Ranges ranges;
    if (PyBytes_GET_SIZE(args[1]) != (Py_ssize_t)(10 * sizeof(double))) {
        PyErr_SetString(PyExc_ValueError, "ranges: expected 10 float64 values (lo, width) x 5");
        return NULL;
    }
    const double *rv = (const double *)PyBytes_AS_STRING(args[1]);
    for (int p = 0; p < 5; p++) {
        ranges.lo[p] = rv[2 * p];
        ranges.width[p] = rv[2 * p + 1];
    }
    uint8_t small[256], *msg = small;
    size_t key_len;
    if (PyLong_CheckExact(args[0])) { /* an id below 2**64: its decimal digits */
        unsigned long long id = PyLong_AsUnsignedLongLong(args[0]);
        if (id == (unsigned long long)-1 && PyErr_Occurred())
            return NULL;
        key_len = write_decimal((uint64_t)id, msg);
    } else {
        key_len = (size_t)PyBytes_GET_SIZE(args[0]);
        if (key_len + 72 > sizeof small) {
            msg = malloc(key_len + 72);
            if (!msg)
                return PyErr_NoMemory();
        }
        memcpy(msg, PyBytes_AS_STRING(args[0]), key_len);
    }
    size_t blocks = pad_message(msg, key_len, (uint64_t)key_len);
    uint8_t hex[64];
    uint32_t words[8];
    double r[5];
    MTKey key;
    chain_impl(msg, blocks, &self->tails, hex, words);
    if (msg != small)
        free(msg);
    mt_key(words, seed_words, &key);
    mt_draws_one(&key, r);
    PyObject *out = PyDict_New();
    if (!out)
        return NULL;
    for (int p = 0; p < 6; p++) {
        PyObject *value = p < 5 ? PyFloat_FromDouble(ranges.lo[p] + ranges.width[p] * r[p])
                                : PyUnicode_FromStringAndSize((const char *)hex, 64);
        if (!value || PyDict_SetItem(out, PARAM_KEYS[p], value) < 0) {
            Py_XDECREF(value);
            Py_DECREF(out);
            return NULL;
        }
        Py_DECREF(value);
    }
    return out;
}

static PyObject *Chain_get_depth(ChainObject *self, void *closure)
{
    (void)closure;
    return PyLong_FromLong(self->tails.depth);
}

static PyMethodDef Chain_methods[] = {
    {"fill_ids", (PyCFunction)Chain_fill_ids, METH_VARARGS,
     "fill_ids(ids, prefix, ranges, values, hashes, start, end, seed_words): samples "
     "[start, end)."},
    {"fill_keys", (PyCFunction)Chain_fill_keys, METH_VARARGS,
     "fill_keys(keys, ranges, values, hashes, start, end, seed_words): samples [start, end)."},
    {"one", (PyCFunction)(void (*)(void))Chain_one, METH_FASTCALL,
     "one(key, ranges, seed_words=1) -> dict of the five parameters and the hash."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef Chain_getset[] = {
    {"depth", (getter)Chain_get_depth, NULL, "number of chain steps", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject ChainType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "dpa._kernel._dpa_kernel.Chain",
    .tp_basicsize = sizeof(ChainObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "The prepared chain of one depth: Chain(salts), salts = decimal(fib(i)) bytes.",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Chain_init,
    .tp_dealloc = (destructor)Chain_dealloc,
    .tp_methods = Chain_methods,
    .tp_getset = Chain_getset,
};

/* features() -> {"sha256": "shani"|"portable", "mt": "avx2"|"portable", "lanes": 32} */
static PyObject *kernel_features(PyObject *module, PyObject *unused)
{
    (void)module;
    (void)unused;
    return Py_BuildValue("{sssssi}", "sha256", sha_impl_name, "mt", mt_impl_name, "lanes", LANES);
}

/* select(fast_sha, fast_mt): which code paths run from now on. Meant for tests
 * and benchmarks; not to be called while another thread generates. */
static PyObject *kernel_select(PyObject *module, PyObject *args)
{
    (void)module;
    int sha_fast, mt_fast;
    if (!PyArg_ParseTuple(args, "pp", &sha_fast, &mt_fast))
        return NULL;
    chain_impl = chain_portable;
    sha_impl_name = "portable";
    mt_lanes_impl = mt_draws_lanes_portable;
    mt_impl_name = "portable";
#ifdef DPA_X86
    __builtin_cpu_init();
    if (sha_fast && __builtin_cpu_supports("sha") && __builtin_cpu_supports("sse4.1")) {
        chain_impl = chain_shani;
        sha_impl_name = "shani";
    }
    if (mt_fast && __builtin_cpu_supports("avx2")) {
        mt_lanes_impl = mt_draws_lanes_avx2;
        mt_impl_name = "avx2";
    }
#endif
    return kernel_features(NULL, NULL);
}

/* draws(digests, seed_words) -> list of 5-tuples: the random() values the
 * generator gives for each 32-byte digest (big-endian, as hexdigest prints it).
 * For tests of the seeding, digests with leading zero words included. */
static PyObject *kernel_draws(PyObject *module, PyObject *args)
{
    (void)module;
    Py_buffer digests;
    int seed_words;
    if (!PyArg_ParseTuple(args, "y*i", &digests, &seed_words))
        return NULL;
    PyObject *out = NULL;
    uint32_t *work = NULL;
    if (digests.len % 32 || check_seed_words(seed_words) < 0) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_ValueError, "digests: expected 32 bytes per digest");
        goto done;
    }
    work = malloc(sizeof(uint32_t) * MT_N * LANES);
    Py_ssize_t count = digests.len / 32;
    out = PyList_New(count);
    if (!work || !out) {
        Py_CLEAR(out);
        if (!PyErr_Occurred())
            PyErr_NoMemory();
        goto done;
    }
    const uint8_t *bytes = digests.buf;
    for (Py_ssize_t group = 0; group < count; group += LANES) {
        size_t lanes = (size_t)(count - group < LANES ? count - group : LANES);
        uint32_t words[LANES][8];
        double r[5 * LANES];
        for (size_t l = 0; l < lanes; l++)
            for (int k = 0; k < 8; k++)
                words[l][k] = load_be32(bytes + 32 * (group + (Py_ssize_t)l) + 4 * k);
        draw_group(words, lanes, seed_words, work, r);
        for (size_t l = 0; l < lanes; l++) {
            double *v = r + 5 * l;
            PyObject *item = Py_BuildValue("(ddddd)", v[0], v[1], v[2], v[3], v[4]);
            if (!item) {
                Py_CLEAR(out);
                goto done;
            }
            PyList_SET_ITEM(out, group + (Py_ssize_t)l, item);
        }
    }
done:
    free(work);
    PyBuffer_Release(&digests);
    return out;
}

static PyMethodDef module_methods[] = {
    {"draws", kernel_draws, METH_VARARGS,
     "draws(digests, seed_words) -> the five random() values for each 32-byte digest."},
    {"features", kernel_features, METH_NOARGS, "The code paths in use."},
    {"select", kernel_select, METH_VARARGS,
     "select(fast_sha, fast_mt): use the CPU's extensions where present (True) or the "
     "portable code (False); returns features()."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef kernel_module = {
    PyModuleDef_HEAD_INIT, "_dpa_kernel", "dpa's native batch kernel.", -1, module_methods,
    NULL, NULL, NULL, NULL,
};

/* dpa_images.c: apply_images and its code paths. */
int dpa_images_init(PyObject *module);

PyMODINIT_FUNC PyInit__dpa_kernel(void)
{
    mt_base_init();
    static const char *names[6] = {"rotation", "brightness", "noise", "scale", "contrast", "hash"};
    for (int p = 0; p < 6; p++) {
        PARAM_KEYS[p] = PyUnicode_InternFromString(names[p]);
        if (!PARAM_KEYS[p])
            return NULL;
    }
    if (PyType_Ready(&ChainType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&kernel_module);
    if (!m)
        return NULL;
    Py_INCREF(&ChainType);
    if (PyModule_AddObject(m, "Chain", (PyObject *)&ChainType) < 0) {
        Py_DECREF(&ChainType);
        Py_DECREF(m);
        return NULL;
    }
    PyObject *fast = Py_BuildValue("(ii)", 1, 1);
    PyObject *features = fast ? kernel_select(m, fast) : NULL;
    Py_XDECREF(fast);
    if (!features) {
        Py_DECREF(m);
        return NULL;
    }
    Py_DECREF(features);
    if (dpa_images_init(m) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
