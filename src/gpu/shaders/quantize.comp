// Activation rows to the quantized form the GEMV takes, as the CPU's
// scalar quantizers (src/kernels/ref) compute it: Q8_0 blocks of 32 (F16
// scale amax / 127, quants rounded half away from zero) or, compiled with
// -DQ8_K, Q8_K super-blocks of 256 (F32 scale, quants rounded to nearest
// even against the element of largest magnitude, sums of each 16). One
// invocation per block. The divisions are GLSL's, which a device may round
// differently from the CPU in the last place, so a quant can differ by one.
#version 460
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(local_size_x = 64) in;

layout(push_constant) uniform Args {
    uint64_t x;     // rows of k floats, x_stride floats apart
    uint64_t y;     // rows of quantized blocks, y_stride bytes apart
    uint k;         // a whole number of blocks
    uint rows;
    uint x_stride;  // floats
    uint y_stride;  // bytes
} a;

void main() {
    const uint row = gl_WorkGroupID.y;
#if defined(Q8_K)
    const uint kBlock = 256, kBytes = 292;
#else
    const uint kBlock = 32, kBytes = 34;
#endif
    const uint block = gl_GlobalInvocationID.x;
    if (row >= a.rows || block >= a.k / kBlock) return;
    Floats x = Floats(a.x + 4 * (uint64_t(row) * a.x_stride + kBlock * block));
    const uint64_t y = a.y + uint64_t(row) * a.y_stride + kBytes * block;
#if defined(Q8_K)
    float amax = 0.0, max_v = 0.0;
    for (uint e = 0; e < kBlock; ++e) {
        if (abs(x.f[e]) > amax) {
            amax = abs(x.f[e]);
            max_v = x.f[e];
        }
    }
    if (amax == 0.0) {
        for (uint o = 0; o < kBytes; ++o) set_byte(y, o, 0);
        return;
    }
    precise const float iscale = -127.0 / max_v;
    for (uint g = 0; g < 16; ++g) {
        int sum = 0;
        for (uint e = 16 * g; e < 16 * g + 16; ++e) {
            precise const float v = iscale * x.f[e];
            const int q = clamp(int(roundEven(v)), -127, 127);
            set_byte(y, 4 + e, uint(q));
            sum += q;
        }
        set_u16(y, 260 + 2 * g, uint(sum));
    }
    precise const float d = 1.0 / iscale;
    set_u16(y, 0, floatBitsToUint(d));
    set_u16(y, 2, floatBitsToUint(d) >> 16);
#else
    float amax = 0.0;
    for (uint e = 0; e < kBlock; ++e) amax = max(amax, abs(x.f[e]));
    precise const float d = amax / 127.0;
    precise const float id = d != 0.0 ? 1.0 / d : 0.0;
    for (uint e = 0; e < kBlock; ++e) {
        precise const float v = x.f[e] * id;
        // Half away from zero, as C's round(): v - trunc(v) is exact.
        const float t = trunc(v);
        const float q = abs(v - t) >= 0.5 ? t + sign(v) : t;
        set_byte(y, 2 + e, uint(int(q)));
    }
    set_u16(y, 0, float_to_half(d));
#endif
}
