#include "kernels/x86/avx512/avx512.hpp"
namespace pensieve::kernels::avx512 {
void register_formats(KernelTable&) {}
}  // namespace pensieve::kernels::avx512
