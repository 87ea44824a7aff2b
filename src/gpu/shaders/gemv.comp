// Matrix-vector products: y[c][r] = W[r] . x[c] for every weight row r and
// up to kMaxCols F32 activation rows c. A workgroup takes kRows rows; each
// subgroup takes one row at a time, lane l going through units l, l + the
// subgroup's size, ... (32 weights each, dequantized by dequant.glsl), so
// neighbouring lanes read neighbouring bytes, and subgroupAdd joins the
// lanes' sums (no shared memory, no barrier). The weight format is chosen
// when the shader is compiled (-DFORMAT_<NAME>). Activations stay F32 (the
// CPU's kernels quantize them to 8 bits for their integer products; a
// GPU's decode is bound by reading the weights, not by arithmetic).
#version 460
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
#include "dequant.glsl"
#extension GL_KHR_shader_subgroup_arithmetic : require

const uint kRows = 8;     // rows per workgroup
const uint kMaxCols = 8;  // activation rows per dispatch
layout(local_size_x = 64) in;

layout(push_constant) uniform Args {
    uint64_t w;      // weight rows, row_bytes apart
    uint64_t x;      // cols activation rows of k floats, x_stride floats apart
    uint64_t y;      // cols output rows of `rows` floats, y_stride floats apart
    uint rows;
    uint k;          // elements per row, a whole number of blocks
    uint row_bytes;
    uint cols;       // 1..kMaxCols
    uint x_stride;   // floats
    uint y_stride;   // floats
} a;

void main() {
    const uint group = gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x;
    const uint lane = gl_SubgroupInvocationID;
    for (uint r = gl_SubgroupID; r < kRows; r += gl_NumSubgroups) {
        const uint row = group * kRows + r;
        if (row >= a.rows) break;  // the same for the whole subgroup
        const uint64_t p = a.w + uint64_t(row) * a.row_bytes;
        float sum[kMaxCols];
        for (uint c = 0; c < kMaxCols; ++c) sum[c] = 0.0;
        float w[32];
        for (uint u = lane; u < a.k / 32; u += gl_SubgroupSize) {
            dequantize_unit(p, u, w);
            for (uint c = 0; c < a.cols; ++c) {
                Floats x = Floats(a.x + 4 * (uint64_t(c) * a.x_stride + 32 * u));
                for (uint l = 0; l < 32; ++l) sum[c] += w[l] * x.f[l];
            }
        }
        for (uint c = 0; c < a.cols; ++c) {
            const float total = subgroupAdd(sum[c]);
            if (lane == 0) Floats(a.y + 4 * (uint64_t(c) * a.y_stride + row)).f[0] = total;
        }
    }
}
