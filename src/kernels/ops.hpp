// The non-matmul operations of a transformer forward pass, on F32 rows. Those
// with SIMD variants dispatch through the active kernel table; the rest are
// plain loops (they are a small share of the time).
//
// All functions work on one row (or one head) so the caller owns batching and
// threading; none allocates.
#pragma once

#include <cstdint>
#include <type_traits>
#include <utility>

namespace pensieve::kernels {

// out[i] = x[i] / sqrt(mean(x²) + eps) * weight[i]   (weight may be null: no scaling).
// out may alias x.
void rms_norm(const float* x, const float* weight, float* out, int64_t n, float eps);

// out[i] = (x[i] - mean) / sqrt(var + eps) * weight[i] + bias[i]
// (weight and bias may be null). out may alias x.
void layer_norm(const float* x, const float* weight, const float* bias, float* out, int64_t n,
                float eps);

// In place: x = softmax(x * scale + mask). mask may be null; -INFINITY mask
// entries get probability 0. A row that is entirely masked becomes all zeros.
void softmax(float* x, int64_t n, float scale, const float* mask);

enum class RopeStyle {
    Normal,  // rotates adjacent pairs (x[2i], x[2i+1]): Llama/Mistral GGUFs
    NeoX,    // rotates (x[i], x[i + n_dims/2]): NeoX, Qwen2, Gemma, Phi
};

struct RopeConfig {
    int head_dim = 0;  // elements per head
    int n_dims = 0;    // leading dims of each head that rotate (<= head_dim, even)
    float freq_base = 10000.0f;
    float freq_scale = 1.0f;  // linear position scaling (1 / scaling factor)
    RopeStyle style = RopeStyle::Normal;
    // [n_dims / 2] or null: pair i's angle is divided by freq_factors[i]
    // (Llama 3.1's rope_freqs, Phi-3's LongRoPE factors).
    const float* freq_factors = nullptr;
    float attn_factor = 1.0f;  // multiplies cos and sin (LongRoPE's magnitude correction)
};

// In place on n_heads heads of one token, laid out [n_heads][head_dim]:
// pair i of each head is rotated by angle
// pos * freq_scale * base^(-2i/n_dims) / freq_factors[i].
void rope(float* x, int n_heads, int64_t pos, const RopeConfig& config);
// rope() in two halves, for callers that turn many heads or layers by the
// same angles: the (cos, sin) of pairs i < n_dims / 2 at pos into cs[i],
// sn[i], then the rotation by them.
void rope_angles(int64_t pos, const RopeConfig& config, float* cs, float* sn);
void rope_rotate(float* x, int n_heads, const float* cs, const float* sn, const RopeConfig& config);
// The (cos, sin) that rope() turns pair i by at `pos` (attn_factor applied),
// for the GPU's RoPE, which takes them from the CPU.
std::pair<float, float> rope_angle(int64_t pos, const RopeConfig& config, int i);

// out = silu(gate) * up (SwiGLU); out may alias gate or up.
void silu_mul(const float* gate, const float* up, float* out, int64_t n);
// out = gelu(gate) * up (GeGLU, tanh approximation); out may alias.
void gelu_mul(const float* gate, const float* up, float* out, int64_t n);
// In place activation.
void silu(float* x, int64_t n);

// Element-wise; out may alias a or b.
void add(const float* a, const float* b, float* out, int64_t n);
void mul(const float* a, const float* b, float* out, int64_t n);
void scale(float* x, float s, int64_t n);

// Dot products and y += a * x over F32 or F16 rows.
float dot_f32(const float* a, const float* b, int64_t n);
float dot_f16(const uint16_t* a, const float* b, int64_t n);
void axpy_f32(float a, const float* x, float* y, int64_t n);
void axpy_f16(float a, const uint16_t* x, float* y, int64_t n);

// Positions per KV cache block, and so per attention step.
inline constexpr int64_t kKvBlockTokens = 16;

// One step of blockwise attention with an online softmax (flash attention):
// `rows` query rows against the kKvBlockTokens positions pos0, pos0 + 1, ...
// of one block, whose keys and values are given as F32 tiles (kv_tile.hpp
// turns the cache's tiles into these). Row r may attend positions
// [first[r], last[r]]; the others are masked. For each row the running state
// is updated in place:
//   m[r]  the largest scaled score so far (start at -INFINITY),
//   l[r]  the sum of exp(score - m[r]) so far (start at 0),
//   o     the sum of exp(score - m[r]) · value so far (start at 0);
// after the last block, row r's attention output is o_r / l[r]. A row with
// no unmasked position in this block is left as it was.
struct AttendBlock {
    const float* q = nullptr;  // row r at q + r * head_dim
    int64_t rows = 0;
    int64_t head_dim = 0;
    const float* kt = nullptr;  // keys transposed: kt[d * kKvBlockTokens + j], position pos0 + j
    const float* v = nullptr;   // values: v[j * head_dim + d]
    int64_t pos0 = 0;
    const int32_t* first = nullptr;  // per row
    const int32_t* last = nullptr;   // per row
    float scale = 1.0f;              // score = scale · q·k
    float* m = nullptr;
    float* l = nullptr;
    float* o = nullptr;  // row r at o + r * head_dim
    // Optional: q rounded to BF16, same layout. With it, a CPU that has BF16
    // dot products may compute a run of many rows with q, k, v and the
    // probabilities in BF16 (sums stay F32), which halves the instructions:
    // block by block (attend_block), or over whole F16 tiles in the steps
    // kBf16StepTiles describes (kv_tile.hpp's attend_steps).
    const uint16_t* qb = nullptr;
    // Optional: the block's F16 key and value tiles as the KV cache stores
    // them (kv_tile.hpp), in place of kt and v: the kernels convert them as
    // they load them. All 16 positions must be written (a slot not written
    // yet may hold any bits, and 0 · NaN is NaN).
    const uint16_t* kt16 = nullptr;
    const uint16_t* v16 = nullptr;
};

// BF16-product attention over F16 tiles (OpsTable::attend_span_bf16 and its
// scalar reference ref::attend_span_bf16) works in steps of kBf16StepTiles
// tiles from the span's first. In each step, for each row: scores are F32
// sums of products of q (AttendBlock::qb) and the keys rounded to BF16; the
// probabilities relative to the step's own maximum b, p = exp(s - b), are
// rounded to BF16, Σp sums the rounded values, p · V multiplies them by the
// values rounded to BF16, both summed in F32 from zero; then, with
// m' = max(m, b), l = l · exp(m - m') + Σp · exp(b - m'), o likewise. So
// the BF16 sums of a step depend on its scores alone, not on the steps
// before it (nor on where a split-KV part starts), as with kFp16StepTiles
// below; with steps fixed by absolute position (kv_tile.hpp's attend_steps)
// a row's result depends on its query and the steps it attends, never on
// the rows beside it nor on where a call starts. Each value is rounded to
// BF16 once (2^-9 relative); the sums are F32. Tiles per step: the scores
// of 8 rows over 3 tiles and their 3 key vectors fill 27 of the 32
// registers.
inline constexpr int64_t kBf16StepTiles = 3;

// FP16-product attention (OpsTable::attend_span_fp16 and its scalar
// reference ref::attend_span_fp16) works in steps of kFp16StepTiles whole F16
// tiles whose positions start at a multiple of kFp16StepTokens, counted from
// position 0, for rows that attend every position of the step. In each step,
// for each row: q · scale is rounded to FP16; every score sums its products
// in FP16 in two sums, over the even and the odd dimensions in order, then
// adds them; the probabilities relative to the step's own maximum b,
// p = exp(s - b), are computed in FP16 (fp16_exp below), their sum Σp in
// F32; p · V sums the step's even and odd positions in order in two FP16
// sums per dimension, then adds them; then, with m' = max(m, b), the state
// takes the step in F32:
// l = l · exp(m - m') + Σp · exp(b - m'), o likewise with the p · V sum. So
// the FP16 sums of a step depend on its scores alone, not on the steps
// before it (nor on where a split-KV part starts). A row's step runs in F32
// instead, as attend_block_f16 tile by tile would, when one of its scores
// reaches kFp16ScoreLimit in magnitude or one of its p · V sums is not finite
// (past 65504, or NaN); the other rows are not affected.
//
// So a row's result depends on its query and the steps it attends, never on
// which rows share a call or where a call starts: a prompt prefilled in any
// chunks, alone or beside other sequences, sums the same steps (the model's
// attention keeps every step a row attends whole in one call, and takes the
// positions of a row's partial steps in F32).
//
// Precision: a score's FP16 sums round to 11 bits at every dimension, so its
// error grows with its magnitude (the ulp) and with sqrt(head_dim / 2). On
// the random models at depth 4096 (tests/reference/model) the logits move by
// up to 0.07 % of their range, against 0.02 % with F32 products (one sum per
// score and per dimension instead of two: 0.12 %). Scores of real models are mostly
// below 16 (SmolLM2 and Gemma 3 over a 2048-token context: 91 % and 93 % of
// their 32-position groups peak there, 0.01 % and none reach 64). The limit
// keeps rare large scores, whose FP16 error would reach tenths, in F32.
// Perplexity against F32 products: Gemma 3 (head 256) +0.03 % on
// tests/data/text/coriolanus-act1.txt at ctx 1024, +0.13 % and +0.07 % on
// gpl-3.0.txt at ctx 1024 and 2048 (one sum per score had moved it 0.5 % on
// one text); SmolLM2 (head 64) -0.16 % on coriolanus at ctx 2048, where the
// scalar reference path is -0.07 %. Head sizes past kFp16MaxHeadDim would
// stay in F32 (kv_tile.hpp's fp16_steps says no).
inline constexpr float kFp16ScoreLimit = 64.0f;
inline constexpr int64_t kFp16MaxHeadDim = 256;
// Tiles per step: the scores of 8 rows over 6 tiles (24 vectors of 32) and
// their 3 key vectors fill the 32 registers. SmolLM2 pp512 at depth 8192
// (2-core Xeon): 277-294 tok/s with 4 tiles, 311-313 with 6.
inline constexpr int64_t kFp16StepTiles = 6;
inline constexpr int64_t kFp16StepTokens = kFp16StepTiles * kKvBlockTokens;
// How FP16-product attention computes p = exp(x), x = s - b <= 0, in FP16
// arithmetic (every operation rounded to FP16, the two-term reduction exact):
// k = round_to_even(x · kLog2e), r = (x - k · kLn2Hi) - k · kLn2Lo, then
// p = 2^k · (1 + r (1 + r (1/2 + r (kSixth + r kTwentyFourth)))) by Horner's
// rule. |r| <= ln 2 / 2, where the polynomial's own error (r^5 / 120) is
// 2^-14.5, below FP16's half ulp. The constants are FP16 values.
namespace fp16_exp {
inline constexpr float kLog2e = 1.4423828125f;              // 1477 / 1024
inline constexpr float kLn2Hi = 0.693359375f;               // 1420 / 2048
inline constexpr float kLn2Lo = -2.1219253540039062e-4f;    // -1780 · 2^-23
inline constexpr float kSixth = 0.1666259765625f;           // 1365 / 8192
inline constexpr float kTwentyFourth = 0.041656494140625f;  // 1365 / 32768
}  // namespace fp16_exp
// Attention over whole Q8_0 KV tiles (OpsTable::attend_span_q8 and its
// scalar reference ref::attend_span_q8) for 1..8 rows takes a softmax step
// per q8_span_tiles(rows) tiles from the span's first, then one per tile for
// the tiles left over. In each step, for each row: the query is quantized as
// Q8_0 and a score is Σ over 32-dimension blocks of (d_q · d_k) times the
// exact integer sum of the quants' products; the probabilities p = exp(s -
// m') are relative to the row's maximum m' after the step (so p <= 1); for
// each tile and block, p times the position's value scale is rounded to
// int16 in units of u = (the tile's largest value scale in the block) /
// 32767, its products with the value quants summed exactly in int32 and
// added to the output times u. The rounding (2^-16 of the largest term) is
// far below the Q8_0 values' own.
inline constexpr int64_t q8_span_tiles(int64_t rows) {
    return rows <= 2 ? 4 : rows <= 4 ? 3 : rows <= 6 ? 2 : 1;
}
void attend_block(const AttendBlock& a);
// Whether attend_block multiplies in BF16 for long runs of rows given
// AttendBlock::qb (a CPU with fast BF16 products); otherwise qb goes unused.
bool attend_multiplies_bf16();

// A block's key and value tiles as elements of T: float (kt, v) or
// uint16_t (the F16 kt16, v16).
template <typename T>
std::pair<const T*, const T*> attend_tiles_of(const AttendBlock& a) {
    if constexpr (std::is_same_v<T, uint16_t>) {
        return {a.kt16, a.v16};
    } else {
        return {a.kt, a.v};
    }
}

// The keys of a Q8_0 key tile (kv_tile.hpp) as F32, transposed like
// AttendBlock::kt: head_dim × kKvBlockTokens floats.
void dequantize_q8_0_keys(const void* tile, int64_t head_dim, float* kt);

}  // namespace pensieve::kernels
