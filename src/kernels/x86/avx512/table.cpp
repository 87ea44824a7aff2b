// Installs the AVX-512 (F/BW/DQ/VL + VNNI) kernels over the AVX2 ones.
#include "kernels/x86/avx512/avx512.hpp"

namespace pensieve::kernels {

void patch_avx512(KernelTable& table) {
    avx512::register_formats(table);
    avx512::register_ops(table);
    avx512::register_gemm(table);
    avx512::register_attend_bf16(table);
    avx512::register_attend_fp16(table);
    avx512::register_attend_q8(table);
    avx512::register_gemm_f32(table);
    avx512::register_gemm_bf16(table);
}

}  // namespace pensieve::kernels
