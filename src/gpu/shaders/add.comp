// y = a + b over rows of n floats (b_stride 0: b is one row added to every
// row, a bias), or y = a when b is 0 (a copy). y may be a or b.
#version 460
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(local_size_x = 256) in;

layout(push_constant) uniform Args {
    uint64_t a;
    uint64_t b;  // 0: none
    uint64_t y;
    uint n;
    uint rows;
    uint a_stride;
    uint b_stride;
    uint y_stride;
} p;

void main() {
    const uint i = gl_GlobalInvocationID.x, row = gl_WorkGroupID.y;
    if (i >= p.n || row >= p.rows) return;
    float v = Floats(p.a + 4 * (uint64_t(row) * p.a_stride + i)).f[0];
    if (p.b != 0) v += Floats(p.b + 4 * (uint64_t(row) * p.b_stride + i)).f[0];
    Floats(p.y + 4 * (uint64_t(row) * p.y_stride + i)).f[0] = v;
}
