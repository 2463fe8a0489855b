// The 4-bit product-quantisation fast-scan kernel (FAISS's idea, written for this layout):
// blocks of 32 vectors, for each pair of sub-quantizers 32 bytes whose nibbles are the two codes
// of each vector; a byte lookup table of 16 entries per sub-quantizer; scores accumulated in
// 16-bit lanes. AVX2 (vpshufb) chosen at run time; the portable loop is the reference.
#include "tt_kernels.h"
#include "cpu_level.h"

static void pq4_portable(const uint8_t *packed, size_t count, size_t m, const uint8_t *lut, float base, float inverse_scale,
                         float *out) {
    size_t block_bytes = (m + 1) / 2 * 32;
    for (size_t v = 0; v < count; v++) {
        const uint8_t *block = packed + (v / 32) * block_bytes;
        size_t lane = v % 32;
        unsigned sum = 0;
        for (size_t s = 0; s < m; s++) {
            uint8_t byte = block[(s / 2) * 32 + lane];
            uint8_t code = s % 2 == 0 ? (byte & 0x0F) : (byte >> 4);
            sum += lut[s * 16 + code];
        }
        out[v] = __builtin_fmaf((float)sum, inverse_scale, base);  // fused, as the vector path
    }
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

__attribute__((target("avx2,fma")))
static void pq4_avx2(const uint8_t *packed, size_t count, size_t m, const uint8_t *lut, float base, float inverse_scale, float *out) {
    size_t block_bytes = (m + 1) / 2 * 32, pairs = m / 2;
    const __m256i low = _mm256_set1_epi8(0x0F);
    size_t blocks = (count + 31) / 32;
    for (size_t b = 0; b < blocks; b++) {
        const uint8_t *block = packed + b * block_bytes;
        // acc0 lane l: Σ (even byte + 256 · odd byte) mod 2¹⁶; acc1 lane l: Σ odd byte.
        __m256i acc0 = _mm256_setzero_si256(), acc1 = _mm256_setzero_si256();
        for (size_t p = 0; p < pairs; p++) {
            __m256i codes = _mm256_loadu_si256((const __m256i *)(block + p * 32));
            __m256i lo = _mm256_and_si256(codes, low);
            __m256i hi = _mm256_and_si256(_mm256_srli_epi16(codes, 4), low);
            __m256i ta = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(lut + 2 * p * 16)));
            __m256i tb = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(lut + (2 * p + 1) * 16)));
            __m256i va = _mm256_shuffle_epi8(ta, lo), vb = _mm256_shuffle_epi8(tb, hi);
            acc0 = _mm256_add_epi16(acc0, _mm256_add_epi16(va, vb));
            acc1 = _mm256_add_epi16(acc1, _mm256_add_epi16(_mm256_srli_epi16(va, 8), _mm256_srli_epi16(vb, 8)));
        }
        if (m % 2) {  // the last sub-quantizer alone, in the low nibbles
            __m256i codes = _mm256_loadu_si256((const __m256i *)(block + pairs * 32));
            __m256i ta = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(lut + (m - 1) * 16)));
            __m256i va = _mm256_shuffle_epi8(ta, _mm256_and_si256(codes, low));
            acc0 = _mm256_add_epi16(acc0, va);
            acc1 = _mm256_add_epi16(acc1, _mm256_srli_epi16(va, 8));
        }
        // 16-bit lane l holds vector 2l in `even` and vector 2l+1 in `acc1`: interleaving them
        // gives vectors 0–7 | 16–23 (lo) and 8–15 | 24–31 (hi), widened to floats in fours of eight.
        __m256i even = _mm256_sub_epi16(acc0, _mm256_slli_epi16(acc1, 8));
        __m256i lo = _mm256_unpacklo_epi16(even, acc1), hi = _mm256_unpackhi_epi16(even, acc1);
        __m256 b8 = _mm256_set1_ps(base), s8 = _mm256_set1_ps(inverse_scale);
        __m256 f0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_cvtepu16_epi32(_mm256_castsi256_si128(lo))), s8, b8);
        __m256 f1 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_cvtepu16_epi32(_mm256_castsi256_si128(hi))), s8, b8);
        __m256 f2 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_cvtepu16_epi32(_mm256_extracti128_si256(lo, 1))), s8, b8);
        __m256 f3 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_cvtepu16_epi32(_mm256_extracti128_si256(hi, 1))), s8, b8);
        size_t n = count - b * 32 < 32 ? count - b * 32 : 32;
        float *dst = out + b * 32;
        if (n == 32) {
            _mm256_storeu_ps(dst, f0);
            _mm256_storeu_ps(dst + 8, f1);
            _mm256_storeu_ps(dst + 16, f2);
            _mm256_storeu_ps(dst + 24, f3);
        } else {
            float tail[32];
            _mm256_storeu_ps(tail, f0);
            _mm256_storeu_ps(tail + 8, f1);
            _mm256_storeu_ps(tail + 16, f2);
            _mm256_storeu_ps(tail + 24, f3);
            for (size_t v = 0; v < n; v++) dst[v] = tail[v];
        }
    }
}

#endif

void tt_pq4_scan(const uint8_t *packed, size_t count, size_t m, const uint8_t *lut, float base, float inverse_scale, float *out) {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    if (tt_cpu_level() >= 1) { pq4_avx2(packed, count, m, lut, base, inverse_scale, out); return; }
#endif
    pq4_portable(packed, count, m, lut, base, inverse_scale, out);
}

void tt_pq4_scan_portable(const uint8_t *packed, size_t count, size_t m, const uint8_t *lut, float base, float inverse_scale, float *out) {
    pq4_portable(packed, count, m, lut, base, inverse_scale, out);
}

void tt_pq4_table(const float *query, const float *codebooks, size_t m, size_t ds, uint8_t *lut, float *offset,
                  float *inverse_scale) {
    float table[64 * 16];
    float minimum[64];
    float widest = 0, total = 0;
    for (size_t s = 0; s < m; s++) {
        float lo = __builtin_inff(), hi = -__builtin_inff();
        for (size_t j = 0; j < 16; j++) {
            const float *c = codebooks + (s * 16 + j) * ds;
            float dot = 0;
            for (size_t t = 0; t < ds; t++) dot += query[s * ds + t] * c[t];
            table[s * 16 + j] = dot;
            if (dot < lo) lo = dot;
            if (dot > hi) hi = dot;
        }
        minimum[s] = lo;
        total += lo;
        if (hi - lo > widest) widest = hi - lo;
    }
    float scale = widest > 0 ? 255.0f / widest : 1.0f;
    for (size_t s = 0; s < m; s++) {
        for (size_t j = 0; j < 16; j++) {
            float v = (table[s * 16 + j] - minimum[s]) * scale + 0.5f;
            lut[s * 16 + j] = v <= 0 ? 0 : v >= 255 ? 255 : (uint8_t)v;
        }
    }
    *offset = total;
    *inverse_scale = 1.0f / scale;
}
