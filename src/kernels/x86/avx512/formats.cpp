// AVX-512 VNNI quantized dot products (256-bit VNNI forms) and activation
// quantizers.
#include "kernels/x86/avx512/avx512.hpp"
#include "kernels/x86/formats_256.hpp"

namespace pensieve::kernels::avx512 {
namespace {

// VNNI: u8 x s8 summed straight into int32 in one instruction.
struct Int8 {
    static __m256i dot(__m256i u, __m256i s) {
        return _mm256_dpbusd_epi32(_mm256_setzero_si256(), u, s);
    }
};

}  // namespace

void register_formats(KernelTable& table) {
    x86::register_formats_256<Int8>(table);
}

}  // namespace pensieve::kernels::avx512
