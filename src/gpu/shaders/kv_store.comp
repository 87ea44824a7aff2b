// Stores rows of keys and values into the paged KV cache on the device, as
// F16 (rounded to nearest even). The cache holds a layer's blocks of 16
// token slots as [block][KV head][slot][head_dim] halves; a row's block is
// its sequence's block table entry for pos / 16, its slot pos % 16. Each
// row's (pos, table offset) pair is in `rows_info`, its sequence's block
// table at that offset in `tables`. One invocation per pair of elements.
#version 460
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

const uint kBlockTokens = 16;
layout(local_size_x = 64) in;

layout(push_constant) uniform Args {
    uint64_t k;          // rows of n_head_kv · head_dim floats, stride apart
    uint64_t v;          // same
    uint64_t k_cache;    // halves, two to a uint
    uint64_t v_cache;
    uint64_t rows_info;  // per row: int pos, int table offset
    uint64_t tables;     // ints: block ids
    uint rows;
    uint n_head_kv;
    uint head_dim;       // even
    uint stride;         // floats between rows of k and v
} a;

void main() {
    const uint pair = gl_GlobalInvocationID.x, row = gl_WorkGroupID.y;
    const uint dim = a.n_head_kv * a.head_dim;
    if (2 * pair >= dim || row >= a.rows) return;
    const uint h = 2 * pair / a.head_dim, d = 2 * pair % a.head_dim;
    Ints info = Ints(a.rows_info + 8 * uint64_t(row));
    const uint pos = uint(info.i[0]);
    const uint block = uint(Ints(a.tables).i[info.i[1] + pos / kBlockTokens]);
    const uint64_t elem =
        ((uint64_t(block) * a.n_head_kv + h) * kBlockTokens + pos % kBlockTokens) * a.head_dim + d;
    Floats k = Floats(a.k + 4 * (uint64_t(row) * a.stride + 2 * pair));
    Floats v = Floats(a.v + 4 * (uint64_t(row) * a.stride + 2 * pair));
    Uints(a.k_cache + 2 * elem).u[0] = float_to_half(k.f[0]) | (float_to_half(k.f[1]) << 16);
    Uints(a.v_cache + 2 * elem).u[0] = float_to_half(v.f[0]) | (float_to_half(v.f[1]) << 16);
}
