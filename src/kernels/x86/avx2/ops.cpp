#include "kernels/x86/avx2/avx2.hpp"
namespace pensieve::kernels::avx2 {
void register_ops(KernelTable&) {}
}  // namespace pensieve::kernels::avx2
