// Installs the AVX2 (+FMA +F16C) kernels into a kernel table that already
// holds the scalar reference.
#include "kernels/x86/avx2/avx2.hpp"

namespace pensieve::kernels {

void patch_avx2(KernelTable& table) {
    avx2::register_formats(table);
    avx2::register_ops(table);
}

}  // namespace pensieve::kernels
