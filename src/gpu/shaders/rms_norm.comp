// y = x / sqrt(mean(x²) + eps) · w over rows of n floats, one workgroup per
// row (the CPU sums the squares in double; here each invocation sums a
// strided share in float and the workgroup adds the shares as a tree). The
// weight row is shared by every row (a per-head norm passes rows of
// head_dim). y may be x. With `rows_of` (an address, or 0), output row r
// is the norm of input row rows_of[r]: the final norm gathers the rows that
// want logits.
#version 460
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

const uint kThreads = 256;
layout(local_size_x = 256) in;

layout(push_constant) uniform Args {
    uint64_t x;  // rows of n floats, x_stride apart
    uint64_t w;  // n floats
    uint64_t y;  // rows of n floats, y_stride apart
    uint64_t rows_of;  // 0, or `rows` input row numbers
    uint n;
    uint rows;
    uint x_stride;
    uint y_stride;
    float eps;
} a;

shared float partial[kThreads];

void main() {
    const uint row = gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x;
    if (row >= a.rows) return;  // the whole workgroup leaves together
    const uint t = gl_LocalInvocationID.x;
    const uint from = a.rows_of != 0 ? Uints(a.rows_of).u[row] : row;
    Floats x = Floats(a.x + 4 * uint64_t(from) * a.x_stride);
    Floats y = Floats(a.y + 4 * uint64_t(row) * a.y_stride);
    Floats w = Floats(a.w);
    float sum = 0.0;
    for (uint i = t; i < a.n; i += kThreads) sum += x.f[i] * x.f[i];
    partial[t] = sum;
    barrier();
    for (uint s = kThreads / 2; s > 0; s /= 2) {
        if (t < s) partial[t] += partial[t + s];
        barrier();
    }
    const float inv = 1.0 / sqrt(partial[0] / float(a.n) + a.eps);
    for (uint i = t; i < a.n; i += kThreads) y.f[i] = x.f[i] * inv * w.f[i];
}
