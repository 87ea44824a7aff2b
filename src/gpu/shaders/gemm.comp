// Matrix products for batches of activation rows (prefill):
// y[c][r] = W[r] . x[c]. A workgroup computes a tile of kTileRows weight
// rows by kTileCols activation rows. Each step over k, its invocations
// dequantize one unit (32 weights, dequant.glsl) of each of the tile's
// weight rows into shared memory and copy the matching 32 activations of
// each column, then every invocation multiplies its 4 × 4 block of the tile
// from there: each weight is read from memory and dequantized once per
// kTileCols columns, where the GEMV reads it once per 8. The weight format
// is chosen when the shader is compiled (-DFORMAT_<NAME>); activations and
// sums are F32.
#version 460
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
#include "dequant.glsl"

const uint kTileRows = 64;
const uint kTileCols = 32;
const uint kThreads = 128;  // (kTileRows / 4) × (kTileCols / 4)
layout(local_size_x = 128) in;

layout(push_constant) uniform Args {
    uint64_t w;      // weight rows, row_bytes apart
    uint64_t x;      // cols activation rows of k floats, x_stride floats apart
    uint64_t y;      // cols output rows of `rows` floats, y_stride floats apart
    uint rows;
    uint k;          // elements per row, a whole number of blocks
    uint row_bytes;
    uint cols;
    uint x_stride;   // floats
    uint y_stride;   // floats
} a;

// One step's weights and activations, a column of padding against bank
// conflicts.
shared float ws[kTileRows][33];
shared float xs[kTileCols][33];

void main() {
    const uint t = gl_LocalInvocationID.x;
    const uint row0 = gl_WorkGroupID.x * kTileRows, col0 = gl_WorkGroupID.y * kTileCols;
    // This invocation's 4 × 4 block: rows tr + 16i, columns tc + 8j.
    const uint tr = t % (kTileRows / 4), tc = t / (kTileRows / 4);
    float acc[4][4];
    for (uint i = 0; i < 4; ++i)
        for (uint j = 0; j < 4; ++j) acc[i][j] = 0.0;

    for (uint u = 0; u < a.k / 32; ++u) {
        if (t < kTileRows) {
            float w[32];
            if (row0 + t < a.rows) {
                dequantize_unit(a.w + uint64_t(row0 + t) * a.row_bytes, u, w);
            } else {
                for (uint l = 0; l < 32; ++l) w[l] = 0.0;
            }
            for (uint l = 0; l < 32; ++l) ws[t][l] = w[l];
        }
        for (uint e = t; e < kTileCols * 32; e += kThreads) {
            const uint c = e / 32, l = e % 32;
            xs[c][l] = col0 + c < a.cols
                           ? Floats(a.x + 4 * (uint64_t(col0 + c) * a.x_stride + 32 * u + l)).f[0]
                           : 0.0;
        }
        barrier();
        for (uint l = 0; l < 32; ++l) {
            float wv[4], xv[4];
            for (uint i = 0; i < 4; ++i) wv[i] = ws[tr + 16 * i][l];
            for (uint j = 0; j < 4; ++j) xv[j] = xs[tc + 8 * j][l];
            for (uint i = 0; i < 4; ++i)
                for (uint j = 0; j < 4; ++j) acc[i][j] += wv[i] * xv[j];
        }
        barrier();
    }
    for (uint i = 0; i < 4; ++i) {
        for (uint j = 0; j < 4; ++j) {
            const uint r = row0 + tr + 16 * i, c = col0 + tc + 8 * j;
            if (r < a.rows && c < a.cols)
                Floats(a.y + 4 * (uint64_t(c) * a.y_stride + r)).f[0] = acc[i][j];
        }
    }
}
