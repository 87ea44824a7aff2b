// AVX2 (+FMA +F16C) quantized dot products and activation quantizers.
#include "kernels/x86/avx2/avx2.hpp"
#include "kernels/x86/formats_256.hpp"

namespace pensieve::kernels::avx2 {
namespace {

// u8 x s8 -> int32 in two steps; the 16-bit middle cannot saturate for our
// operands (|u| <= 128, |s| <= 127).
struct Int8 {
    static __m256i dot(__m256i u, __m256i s) {
        return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
    }
};

}  // namespace

void register_formats(KernelTable& table) {
    x86::register_formats_256<Int8>(table);
}

}  // namespace pensieve::kernels::avx2
