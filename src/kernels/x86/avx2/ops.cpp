// Vectorized ops for this instruction set (256-bit forms; see x86/ops_256.hpp).
#include "kernels/x86/avx2/avx2.hpp"
#include "kernels/x86/attend_256.hpp"
#include "kernels/x86/ops_256.hpp"

namespace pensieve::kernels::avx2 {

void register_ops(KernelTable& table) {
    using namespace x86;
    table.ops.rms_norm = op_rms_norm;
    table.ops.dot_f32 = op_dot_f32;
    table.ops.dot_f16 = op_dot_f16;
    table.ops.axpy_f32 = op_axpy_f32;
    table.ops.axpy_f16 = op_axpy_f16;
    table.ops.attend_block = attend_block_256<6>;  // 16 registers
    table.ops.attend_block_f16 = attend_block_256<6, uint16_t>;
    table.ops.dequantize_q8_0_keys = op_dequantize_q8_0_keys;
    table.ops.add = op_add;
    table.ops.mul = op_mul;
    table.ops.softmax = op_softmax;
    table.ops.silu_mul = op_silu_mul;
    table.ops.gelu_mul = op_gelu_mul;
}

}  // namespace pensieve::kernels::avx2
