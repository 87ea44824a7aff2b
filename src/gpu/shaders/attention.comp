// Scaled dot-product attention of rows of queries over the paged F16 KV
// cache that kv_store.comp fills, with an online softmax over chunks of 64
// positions (flash-decoding style: no score row of the whole context is
// kept). One workgroup per (query head, row); a row at position pos
// attends positions [first, pos] of its sequence, first = pos - window + 1
// when a sliding window is set, else 0. Invocation t scores position
// chunk + t, then owns output dims t, t + 64, ... (head_dim <= 256).
#version 460
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

const uint kBlockTokens = 16;
const uint kChunk = 64;
const uint kMaxHeadDim = 256;
layout(local_size_x = 64) in;

layout(push_constant) uniform Args {
    uint64_t q;          // rows of n_head · head_dim floats, q_stride apart
    uint64_t k_cache;    // [block][KV head][slot][head_dim] halves
    uint64_t v_cache;
    uint64_t rows_info;  // per row: int pos, int table offset
    uint64_t tables;     // ints: block ids
    uint64_t y;          // rows like q, y_stride apart
    uint n_head;
    uint n_head_kv;
    uint head_dim;       // even, <= kMaxHeadDim
    uint q_stride;
    uint y_stride;
    uint window;         // 0: none
    float scale;
} a;

shared float q_row[kMaxHeadDim];
shared float probs[kChunk];
shared float partial[kChunk];

// Element d of the key or value at `pos` of KV head kvh.
uint64_t slot_elem(uint table, uint pos, uint kvh) {
    const uint block = uint(Ints(a.tables).i[table + pos / kBlockTokens]);
    return ((uint64_t(block) * a.n_head_kv + kvh) * kBlockTokens + pos % kBlockTokens) *
           a.head_dim;
}
float cache_at(uint64_t cache, uint64_t elem) {
    const uint pair = Uints(cache + 2 * (elem & ~uint64_t(1))).u[0];
    return half_to_float((elem & 1) != 0 ? pair >> 16 : pair & 0xFFFFu);
}

float reduce_max(float v) {
    const uint t = gl_LocalInvocationID.x;
    partial[t] = v;
    barrier();
    for (uint s = kChunk / 2; s > 0; s /= 2) {
        if (t < s) partial[t] = max(partial[t], partial[t + s]);
        barrier();
    }
    const float r = partial[0];
    barrier();
    return r;
}
float reduce_sum(float v) {
    const uint t = gl_LocalInvocationID.x;
    partial[t] = v;
    barrier();
    for (uint s = kChunk / 2; s > 0; s /= 2) {
        if (t < s) partial[t] += partial[t + s];
        barrier();
    }
    const float r = partial[0];
    barrier();
    return r;
}

void main() {
    const uint head = gl_WorkGroupID.x, row = gl_WorkGroupID.y;
    const uint t = gl_LocalInvocationID.x;
    const uint kvh = head / (a.n_head / a.n_head_kv);
    Ints info = Ints(a.rows_info + 8 * uint64_t(row));
    const uint pos = uint(info.i[0]), table = uint(info.i[1]);
    const uint first = a.window > 0 && pos + 1 > a.window ? pos + 1 - a.window : 0;
    Floats q = Floats(a.q + 4 * (uint64_t(row) * a.q_stride + head * a.head_dim));
    for (uint d = t; d < a.head_dim; d += kChunk) q_row[d] = q.f[d];
    barrier();

    float m = -1.0 / 0.0, l = 0.0;
    float o[kMaxHeadDim / kChunk];
    for (uint j = 0; j < kMaxHeadDim / kChunk; ++j) o[j] = 0.0;
    for (uint chunk = first; chunk <= pos; chunk += kChunk) {
        const uint count = min(kChunk, pos - chunk + 1);
        float s = -1.0 / 0.0;
        if (t < count) {
            const uint64_t base = slot_elem(table, chunk + t, kvh);
            float dot = 0.0;
            for (uint d = 0; d < a.head_dim; ++d) dot += q_row[d] * cache_at(a.k_cache, base + d);
            s = dot * a.scale;
        }
        const float m_new = max(m, reduce_max(s));  // finite: position `chunk` is scored
        const float alpha = exp(m - m_new);          // 0 on the first chunk
        const float p = t < count ? exp(s - m_new) : 0.0;
        probs[t] = p;
        l = l * alpha + reduce_sum(p);  // its barriers publish probs
        for (uint j = 0; j * kChunk + t < a.head_dim; ++j) {
            const uint d = j * kChunk + t;
            float acc = o[j] * alpha;
            for (uint i = 0; i < count; ++i)
                acc += probs[i] * cache_at(a.v_cache, slot_elem(table, chunk + i, kvh) + d);
            o[j] = acc;
        }
        m = m_new;
        barrier();  // probs is rewritten by the next chunk
    }
    Floats y = Floats(a.y + 4 * (uint64_t(row) * a.y_stride + head * a.head_dim));
    for (uint j = 0; j * kChunk + t < a.head_dim; ++j) y.f[j * kChunk + t] = o[j] / l;
}
