// Rotary position embedding in place, with the angles' cosines and sines
// computed by the CPU (kernels::rope_angles, in double as its own RoPE
// does; a GPU's sin and cos lose accuracy at the large angles of long
// contexts): pair i of each head of row r turns by table[r][i] = (cos, sin).
// Normal style rotates (x[2i], x[2i+1]), NeoX style (x[i], x[i + n_dims/2]).
// One invocation per (pair, head), workgroups over y for the rows.
#version 460
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(local_size_x = 64) in;

layout(push_constant) uniform Args {
    uint64_t x;      // rows of n_heads heads of head_dim floats, x_stride apart
    uint64_t table;  // rows of n_dims / 2 (cos, sin) pairs, table_stride floats apart
    uint rows;
    uint n_heads;
    uint head_dim;
    uint n_dims;     // leading dims of each head that rotate, even
    uint neox;
    uint x_stride;
    uint table_stride;
} a;

void main() {
    const uint half_dims = a.n_dims / 2;
    const uint id = gl_GlobalInvocationID.x;
    const uint row = gl_WorkGroupID.y;
    if (id >= half_dims * a.n_heads || row >= a.rows) return;
    const uint i = id % half_dims, h = id / half_dims;
    Floats t = Floats(a.table + 4 * (uint64_t(row) * a.table_stride + 2 * i));
    const float cs = t.f[0], sn = t.f[1];
    Floats x = Floats(a.x + 4 * (uint64_t(row) * a.x_stride + h * a.head_dim));
    const uint p = a.neox != 0 ? i : 2 * i;
    const uint q = a.neox != 0 ? i + half_dims : 2 * i + 1;
    const float x0 = x.f[p], x1 = x.f[q];
    x.f[p] = x0 * cs - x1 * sn;
    x.f[q] = x0 * sn + x1 * cs;
}
