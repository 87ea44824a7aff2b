// Scalar reference of the dispatched ops (see ops.hpp for their contracts).
#include <algorithm>
#include <array>
#include <cmath>
#include <span>
#include <vector>

#include "kernels/blocks.hpp"
#include "kernels/fp16.hpp"
#include "kernels/ref/ref.hpp"

namespace pensieve::kernels::ref {
namespace {

void rms_norm(const float* x, const float* weight, float* out, int64_t n, float eps) {
    double sum = 0.0;  // double: the sum of squares of a 8k-wide row loses bits in float
    for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(x[i]) * static_cast<double>(x[i]);
    const float inv = static_cast<float>(
        1.0 / std::sqrt(sum / static_cast<double>(n) + static_cast<double>(eps)));
    for (int64_t i = 0; i < n; ++i) out[i] = x[i] * inv * (weight ? weight[i] : 1.0f);
}

void softmax(float* x, int64_t n, float scale, const float* mask) {
    float max = -INFINITY;
    for (int64_t i = 0; i < n; ++i) {
        x[i] = x[i] * scale + (mask ? mask[i] : 0.0f);
        max = std::fmax(max, x[i]);
    }
    if (max == -INFINITY) {  // fully masked row
        for (int64_t i = 0; i < n; ++i) x[i] = 0.0f;
        return;
    }
    double sum = 0.0;
    for (int64_t i = 0; i < n; ++i) {
        x[i] = std::exp(x[i] - max);
        sum += static_cast<double>(x[i]);
    }
    const float inv = static_cast<float>(1.0 / sum);
    for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

void silu_mul(const float* gate, const float* up, float* out, int64_t n) {
    for (int64_t i = 0; i < n; ++i) out[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
}

void gelu_mul(const float* gate, const float* up, float* out, int64_t n) {
    constexpr float kSqrt2OverPi = 0.7978845608028654f;
    for (int64_t i = 0; i < n; ++i) {
        const float v = gate[i];
        out[i] = 0.5f * v * (1.0f + std::tanh(kSqrt2OverPi * (v + 0.044715f * v * v * v))) * up[i];
    }
}

float dot_f32(const float* a, const float* b, int64_t n) {
    float sum = 0.0f;
    for (int64_t i = 0; i < n; ++i) sum += a[i] * b[i];
    return sum;
}

float dot_f16(const uint16_t* a, const float* b, int64_t n) {
    float sum = 0.0f;
    for (int64_t i = 0; i < n; ++i) sum += fp16_to_fp32(a[i]) * b[i];
    return sum;
}

void axpy_f32(float a, const float* x, float* y, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] += a * x[i];
}

void axpy_f16(float a, const uint16_t* x, float* y, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] += a * fp16_to_fp32(x[i]);
}

// attend_block over `positions` positions from a.pos0, a block's or at
// most a BF16 step's (row r's unscaled score for position j: score(r, j),
// dimension d of position j's value: value(j, d)), with each value and
// probability passed through `round` (the identity for F32 products, BF16
// rounding for the BF16 forms), products summed in F32; with own_max,
// probabilities relative to the step's own maximum (the BF16 spans' steps,
// ops.hpp).
template <typename Score, typename Value, typename Round>
void attend_scored(const AttendBlock& a, int64_t positions, Score score, Value value, Round round,
                   bool own_max = false) {
    const int64_t hd = a.head_dim;
    std::array<float, kBf16StepTiles * kKvBlockTokens> p_steps;  // a block or a step
    const std::span<float> p(p_steps.data(), static_cast<size_t>(positions));
    for (int64_t r = 0; r < a.rows; ++r) {
        float best = -INFINITY;
        for (int64_t j = 0; j < positions; ++j) {
            const int64_t pos = a.pos0 + j;
            float& x = p[static_cast<size_t>(j)];
            x = -INFINITY;
            if (pos < a.first[r] || pos > a.last[r]) continue;
            x = score(r, j) * a.scale;
            best = std::fmax(best, x);
        }
        if (best == -INFINITY) continue;  // nothing to attend here
        const float m = std::fmax(a.m[r], best);
        const float alpha = std::exp(a.m[r] - m);  // 0 on the first block (m was -inf)
        // Probabilities relative to the running maximum m, added to the
        // state as they come; or to the step's own maximum, summed from zero
        // and added scaled by exp(best - m).
        const float b = own_max ? best : m;
        const float beta = own_max ? std::exp(best - m) : 1.0f;
        float sum = 0.0f;
        for (float& x : p) sum += (x = round(std::exp(x - b)));
        a.l[r] = own_max ? a.l[r] * alpha + sum * beta : a.l[r] * alpha + sum;
        a.m[r] = m;
        float* o = a.o + r * hd;
        for (int64_t d = 0; d < hd; ++d) {
            float acc = own_max ? 0.0f : o[d] * alpha;
            for (int64_t j = 0; j < positions; ++j)
                acc += p[static_cast<size_t>(j)] * round(value(j, d));
            o[d] = own_max ? o[d] * alpha + acc * beta : acc;
        }
    }
}

// The scores of attend_scored as F32 sums of query element times key
// (query(i): element i of the rows' queries, key(d, j): dimension d of
// position j's key, passed through `round`).
template <typename Query, typename Key, typename Round>
auto dot_scores(const AttendBlock& a, Query query, Key key, Round round) {
    return [&a, query, key, round](int64_t r, int64_t j) {
        float s = 0.0f;
        for (int64_t d = 0; d < a.head_dim; ++d) s += query(r * a.head_dim + d) * round(key(d, j));
        return s;
    };
}

// One block's F32 tiles (AttendBlock::kt, v).
template <typename Query, typename Round>
void attend_block_rounded(const AttendBlock& a, Query query, Round round) {
    const int64_t hd = a.head_dim;
    attend_scored(
        a, kKvBlockTokens,
        dot_scores(
            a, query, [&a](int64_t d, int64_t j) { return a.kt[d * kKvBlockTokens + j]; }, round),
        [&a, hd](int64_t j, int64_t d) { return a.v[j * hd + d]; }, round);
}

float round_bf16(float x) {
    return bf16_to_fp32(fp32_to_bf16(x));
}

void attend_block(const AttendBlock& a) {
    attend_block_rounded(
        a, [&a](int64_t i) { return a.q[i]; }, [](float x) { return x; });
}

// The F16 tiles converted to F32, then attend_block.
void attend_block_f16(const AttendBlock& a) {
    std::vector<float> kt(static_cast<size_t>(a.head_dim * kKvBlockTokens));
    std::vector<float> v(kt.size());
    for (size_t i = 0; i < kt.size(); ++i) {
        kt[i] = fp16_to_fp32(a.kt16[i]);
        v[i] = fp16_to_fp32(a.v16[i]);
    }
    AttendBlock f = a;
    f.kt = kt.data();
    f.v = v.data();
    f.kt16 = f.v16 = nullptr;
    (attend_block)(f);  // this file's, not the dispatcher ADL finds
}

namespace {

// A Q8_0 key tile (kv_tile.hpp): int8 [head_dim][16], then F16 scales
// [head_dim/32][16]; dimension dim of position j.
struct Q8Keys {
    const int8_t* qs;
    const uint16_t* d;
    Q8Keys(const void* tile, int64_t head_dim)
        : qs(static_cast<const int8_t*>(tile)),
          d(reinterpret_cast<const uint16_t*>(qs + head_dim * kKvBlockTokens)) {}
    int8_t quant(int64_t dim, int64_t j) const { return qs[dim * kKvBlockTokens + j]; }
    float scale(int64_t dim, int64_t j) const {
        return fp16_to_fp32(d[dim / 32 * kKvBlockTokens + j]);
    }
    float at(int64_t dim, int64_t j) const {
        return scale(dim, j) * static_cast<float>(quant(dim, j));
    }
};

// Position j's Q8_0 row of a value tile (kv_tile.hpp).
const BlockQ8_0* q8_value_row(const void* tile, int64_t head_dim, int64_t j) {
    return reinterpret_cast<const BlockQ8_0*>(static_cast<const uint8_t*>(tile) +
                                              static_cast<size_t>(j * head_dim / 32) *
                                                  sizeof(BlockQ8_0));
}

}  // namespace

void dequantize_q8_0_keys(const void* tile, int64_t head_dim, float* kt) {
    const Q8Keys keys(tile, head_dim);
    for (int64_t i = 0; i < head_dim; ++i) {
        for (int64_t j = 0; j < kKvBlockTokens; ++j) kt[i * kKvBlockTokens + j] = keys.at(i, j);
    }
}

void add(const float* a, const float* b, float* out, int64_t n) {
    for (int64_t i = 0; i < n; ++i) out[i] = a[i] + b[i];
}

void mul(const float* a, const float* b, float* out, int64_t n) {
    for (int64_t i = 0; i < n; ++i) out[i] = a[i] * b[i];
}

}  // namespace

void attend_block_bf16(const AttendBlock& a) {
    attend_block_rounded(
        a, [&a](int64_t i) { return bf16_to_fp32(a.qb[i]); }, round_bf16);
}

namespace {

// The steps of attend_span_bf16 over n tiles whose elements key(t, d, j)
// (dimension d of position j of tile t) and value(t, j, d) give as F32.
template <typename Key, typename Value>
void span_bf16_steps(const AttendBlock& a, int64_t n, Key key, Value value) {
    for (int64_t t = 0; t < n; t += kBf16StepTiles) {
        const int64_t tiles = std::min(kBf16StepTiles, n - t);
        AttendBlock b = a;
        b.pos0 = a.pos0 + t * kKvBlockTokens;
        attend_scored(
            b, tiles * kKvBlockTokens,
            dot_scores(
                b, [&a](int64_t i) { return bf16_to_fp32(a.qb[i]); },
                [&](int64_t d, int64_t j) {
                    return key(t + j / kKvBlockTokens, d, j % kKvBlockTokens);
                },
                round_bf16),
            [&](int64_t j, int64_t d) {
                return value(t + j / kKvBlockTokens, j % kKvBlockTokens, d);
            },
            round_bf16, true);
    }
}

}  // namespace

void attend_span_bf16(const AttendBlock& a, const uint16_t* const* kts, const uint16_t* const* vs,
                      int64_t n) {
    const int64_t hd = a.head_dim;
    span_bf16_steps(
        a, n,
        [&](int64_t t, int64_t d, int64_t j) {
            return fp16_to_fp32(kts[t][d * kKvBlockTokens + j]);
        },
        [&](int64_t t, int64_t j, int64_t d) { return fp16_to_fp32(vs[t][j * hd + d]); });
}

void attend_span_bf16_typed(const AttendBlock& a, TensorType type, const void* const* kts,
                            const void* const* vs, int64_t n) {
    const int64_t hd = a.head_dim;
    if (type == TensorType::BF16) {
        const auto tile = [](const void* p) { return static_cast<const uint16_t*>(p); };
        span_bf16_steps(
            a, n,
            [&](int64_t t, int64_t d, int64_t j) {
                return bf16_to_fp32(tile(kts[t])[d * kKvBlockTokens + j]);
            },
            [&](int64_t t, int64_t j, int64_t d) { return bf16_to_fp32(tile(vs[t])[j * hd + d]); });
        return;
    }
    span_bf16_steps(
        a, n, [&](int64_t t, int64_t d, int64_t j) { return Q8Keys(kts[t], hd).at(d, j); },
        [&](int64_t t, int64_t j, int64_t d) {
            const BlockQ8_0& blk = q8_value_row(vs[t], hd, j)[d / 32];
            return fp16_to_fp32(blk.d) * static_cast<float>(blk.qs[d % 32]);
        });
}

namespace {

// x rounded to the nearest FP16 value (ties to even; past the largest, an
// infinity), as a float. From a double, so that an FP16 FMA, x = a·b + c
// with a, b, c FP16 values, rounds once as the hardware's does: a·b is exact
// in a double and so, for the magnitudes attention meets, is the sum.
float round_fp16(double x) {
    if (!std::isfinite(x) || x == 0.0) return static_cast<float>(x);
    int e = 0;
    std::frexp(x, &e);  // |x| in [2^(e-1), 2^e)
    // 11 significant bits; a fixed quantum for the subnormals below 2^-14.
    const int quantum = std::max(e - 11, -24);
    const double y = std::ldexp(std::nearbyint(std::ldexp(x, -quantum)), quantum);
    return std::fabs(y) > 65504.0 ? std::copysign(INFINITY, static_cast<float>(x))
                                  : static_cast<float>(y);
}

// exp(x), x <= 0, as fp16_exp (ops.hpp) computes it in FP16: each
// operation exact in double, then rounded once.
float exp_fp16(float x) {
    using namespace fp16_exp;
    const auto d = [](float v) { return static_cast<double>(v); };
    const float k = std::nearbyint(round_fp16(d(x) * d(kLog2e)));
    float r = round_fp16(d(x) - d(k) * d(kLn2Hi));
    r = round_fp16(d(r) - d(k) * d(kLn2Lo));
    float poly = round_fp16(d(kTwentyFourth) * d(r) + d(kSixth));
    poly = round_fp16(d(poly) * d(r) + 0.5);
    poly = round_fp16(d(poly) * d(r) + 1.0);
    poly = round_fp16(d(poly) * d(r) + 1.0);
    return round_fp16(std::ldexp(d(poly), static_cast<int>(k)));
}

// Row r of `a`, one step of kFp16StepTiles tiles from a.pos0 (every position
// attended): false, with nothing changed, when a score reaches
// kFp16ScoreLimit or a p · V sum is not finite.
bool step_row_fp16(const AttendBlock& a, int64_t r, const float* q16, const uint16_t* const* kts,
                   const uint16_t* const* vs) {
    const int64_t hd = a.head_dim;
    constexpr int64_t positions = kFp16StepTokens;
    std::vector<float> s(static_cast<size_t>(positions));
    for (int64_t j = 0; j < positions; ++j) {
        const uint16_t* kt = kts[j / kKvBlockTokens];
        float chain[2] = {0.0f, 0.0f};  // even and odd dimensions
        for (int64_t d = 0; d < hd; ++d) {
            const auto k =
                static_cast<double>(fp16_to_fp32(kt[d * kKvBlockTokens + j % kKvBlockTokens]));
            float& acc = chain[d % 2];
            acc = round_fp16(static_cast<double>(q16[d]) * k + static_cast<double>(acc));
        }
        const float acc = round_fp16(static_cast<double>(chain[0]) + static_cast<double>(chain[1]));
        if (!(std::fabs(acc) < kFp16ScoreLimit)) return false;  // NaN too
        s[static_cast<size_t>(j)] = acc;
    }
    float best = -INFINITY;
    for (const float x : s) best = std::fmax(best, x);
    const float m = std::fmax(a.m[r], best);
    const float alpha = std::exp(a.m[r] - m), beta = std::exp(best - m);
    std::vector<float> p(s.size());
    float total = 0.0f;
    for (size_t j = 0; j < s.size(); ++j) {
        p[j] = exp_fp16(round_fp16(static_cast<double>(s[j]) - static_cast<double>(best)));
        total += p[j];
    }
    std::vector<float> sum(static_cast<size_t>(hd));
    for (int64_t d = 0; d < hd; ++d) {
        float chain[2] = {0.0f, 0.0f};  // even and odd positions
        for (int64_t j = 0; j < positions; ++j) {
            const auto v = static_cast<double>(
                fp16_to_fp32(vs[j / kKvBlockTokens][(j % kKvBlockTokens) * hd + d]));
            float& acc = chain[j % 2];
            acc = round_fp16(static_cast<double>(p[static_cast<size_t>(j)]) * v +
                             static_cast<double>(acc));
        }
        const float acc = round_fp16(static_cast<double>(chain[0]) + static_cast<double>(chain[1]));
        if (!std::isfinite(acc)) return false;
        sum[static_cast<size_t>(d)] = acc;
    }
    a.m[r] = m;
    a.l[r] = a.l[r] * alpha + total * beta;
    for (int64_t d = 0; d < hd; ++d)
        a.o[r * hd + d] = std::fma(sum[static_cast<size_t>(d)], beta, a.o[r * hd + d] * alpha);
    return true;
}

}  // namespace

void attend_span_fp16(const AttendBlock& a, const uint16_t* const* kts, const uint16_t* const* vs,
                      int64_t n) {
    const int64_t hd = a.head_dim;
    std::vector<float> q16(static_cast<size_t>(a.rows * hd));
    for (size_t i = 0; i < q16.size(); ++i)
        q16[i] = round_fp16(static_cast<double>(a.q[i] * a.scale));
    for (int64_t t = 0; t < n; t += kFp16StepTiles) {
        for (int64_t r = 0; r < a.rows; ++r) {
            AttendBlock b = a;
            b.pos0 = a.pos0 + t * kKvBlockTokens;
            if (step_row_fp16(b, r, &q16[static_cast<size_t>(r * hd)], kts + t, vs + t)) continue;
            b.q = a.q + r * hd;  // F32, tile by tile, this row alone
            b.rows = 1;
            b.first = a.first + r;
            b.last = a.last + r;
            b.m = a.m + r;
            b.l = a.l + r;
            b.o = a.o + r * hd;
            for (int64_t u = t; u < t + kFp16StepTiles; ++u) {
                b.pos0 = a.pos0 + u * kKvBlockTokens;
                b.kt16 = kts[u];
                b.v16 = vs[u];
                attend_block_f16(b);
            }
        }
    }
}

void attend_span_q8(const AttendBlock& a, const void* const* kts, const void* const* vs,
                    int64_t n) {
    const int64_t hd = a.head_dim;
    const int64_t nb = hd / 32;
    const TypeTraits& q8 = table_for(Isa::Ref)->types[static_cast<uint32_t>(TensorType::Q8_0)];
    std::vector<BlockQ8_0> q(static_cast<size_t>(a.rows * nb));
    q8.quantize_row(a.q, q.data(), a.rows * hd);
    // Position j's Q8_0 value row in tile t.
    const auto value = [&](int64_t t, int64_t j) { return q8_value_row(vs[t], hd, j); };
    const int64_t step = q8_span_tiles(a.rows);
    std::vector<float> p;
    for (int64_t t0 = 0; t0 < n;) {
        const int64_t tiles = n - t0 >= step ? step : 1;
        for (int64_t r = 0; r < a.rows; ++r) {
            p.assign(static_cast<size_t>(tiles * kKvBlockTokens), -INFINITY);
            float best = -INFINITY;
            for (int64_t i = 0; i < tiles * kKvBlockTokens; ++i) {
                const int64_t t = t0 + i / kKvBlockTokens, j = i % kKvBlockTokens;
                const int64_t pos = a.pos0 + t * kKvBlockTokens + j;
                if (pos < a.first[r] || pos > a.last[r]) continue;
                const Q8Keys keys(kts[t], hd);
                float s = 0.0f;
                for (int64_t blk = 0; blk < nb; ++blk) {
                    const BlockQ8_0& qb = q[static_cast<size_t>(r * nb + blk)];
                    int32_t sum = 0;
                    for (int64_t e = 0; e < 32; ++e) sum += qb.qs[e] * keys.quant(blk * 32 + e, j);
                    s += fp16_to_fp32(qb.d) * keys.scale(blk * 32, j) * static_cast<float>(sum);
                }
                p[static_cast<size_t>(i)] = s * a.scale;
                best = std::fmax(best, s * a.scale);
            }
            if (best == -INFINITY) continue;  // nothing to attend here
            const float m = std::fmax(a.m[r], best);
            const float alpha = std::exp(a.m[r] - m);  // 0 on the first step (m was -inf)
            float sum = 0.0f;
            for (float& x : p) sum += (x = std::exp(x - m));
            a.l[r] = a.l[r] * alpha + sum;
            a.m[r] = m;
            float* o = a.o + r * hd;
            for (int64_t d = 0; d < hd; ++d) o[d] *= alpha;
            for (int64_t t = t0; t < t0 + tiles; ++t) {
                for (int64_t blk = 0; blk < nb; ++blk) {
                    float top = 0.0f;
                    for (int64_t j = 0; j < kKvBlockTokens; ++j)
                        top = std::fmax(top, std::fabs(fp16_to_fp32(value(t, j)[blk].d)));
                    const float to_int = top > 0.0f ? 32767.0f / top : 0.0f;
                    int32_t pq[kKvBlockTokens];
                    for (int64_t j = 0; j < kKvBlockTokens; ++j) {
                        const float pd = p[static_cast<size_t>((t - t0) * kKvBlockTokens + j)] *
                                         fp16_to_fp32(value(t, j)[blk].d);
                        pq[j] = static_cast<int32_t>(
                            std::clamp(std::nearbyint(pd * to_int), -32768.0f, 32767.0f));
                    }
                    for (int64_t e = 0; e < 32; ++e) {
                        int32_t acc = 0;
                        for (int64_t j = 0; j < kKvBlockTokens; ++j)
                            acc += pq[j] * value(t, j)[blk].qs[e];
                        o[blk * 32 + e] =
                            std::fma(static_cast<float>(acc), top / 32767.0f, o[blk * 32 + e]);
                    }
                }
            }
        }
        t0 += tiles;
    }
}

void register_ops(KernelTable& table) {
    table.ops = OpsTable{rms_norm, softmax,  silu_mul, gelu_mul,     dot_f32,
                         dot_f16,  axpy_f32, axpy_f16, attend_block, dequantize_q8_0_keys,
                         add,      mul};
    table.ops.attend_block_f16 = attend_block_f16;
}

}  // namespace pensieve::kernels::ref
