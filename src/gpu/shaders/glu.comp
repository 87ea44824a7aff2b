// y = act(gate) · up over n floats: SiLU (SwiGLU) or, with gelu set, GELU's
// tanh approximation (GeGLU), the formulas of the CPU's scalar reference. y
// may be gate or up.
#version 460
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

const uint kThreads = 256;
layout(local_size_x = 256) in;

layout(push_constant) uniform Args {
    uint64_t gate;
    uint64_t up;
    uint64_t y;
    uint n;
    uint gelu;
} a;

void main() {
    const uint i = gl_GlobalInvocationID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x * kThreads;
    if (i >= a.n) return;
    const float g = Floats(a.gate).f[i], u = Floats(a.up).f[i];
    float v;
    if (a.gelu != 0) {
        // tanh of a clamped argument: tanh(±10) is ±1 in F32, and some
        // implementations return NaN for large arguments.
        const float z = clamp(0.7978845608028654 * (g + 0.044715 * g * g * g), -10.0, 10.0);
        v = 0.5 * g * (1.0 + tanh(z)) * u;
    } else {
        v = g / (1.0 + exp(-g)) * u;
    }
    Floats(a.y).f[i] = v;
}
