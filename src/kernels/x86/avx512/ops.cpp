// Vectorized ops for this instruction set (256-bit forms; see x86/ops_256.hpp),
// and the 512-bit attention block (attend_512.hpp).
#include "kernels/x86/attend_256.hpp"
#include "kernels/x86/gcc_avx512_warnings.hpp"

#include "kernels/x86/avx512/attend_512.hpp"
#include "kernels/x86/avx512/avx512.hpp"
#include "kernels/x86/ops_256.hpp"

namespace pensieve::kernels::avx512 {

void register_ops(KernelTable& table) {
    using namespace x86;
    table.ops.rms_norm = op_rms_norm;
    table.ops.dot_f32 = op_dot_f32;
    table.ops.dot_f16 = op_dot_f16;
    table.ops.axpy_f32 = op_axpy_f32;
    table.ops.axpy_f16 = op_axpy_f16;
    table.ops.attend_block = avx512::attend_block_512<8, attend_block_256<8>>;
    // Fewer than 8 rows take the 256-bit form (see attend_block_512).
    table.ops.attend_block_f16 =
        avx512::attend_block_512<8, attend_block_256<8, uint16_t>, uint16_t>;
    table.ops.attend_span_f16 = avx512::attend_span_16<false>;
    table.ops.attend_span_bf16_tiles = avx512::attend_span_16<true>;
    table.ops.dequantize_q8_0_keys = op_dequantize_q8_0_keys;
    table.ops.add = op_add;
    table.ops.mul = op_mul;
    table.ops.softmax = op_softmax;
    table.ops.silu_mul = op_silu_mul;
    table.ops.gelu_mul = op_gelu_mul;
}

}  // namespace pensieve::kernels::avx512
