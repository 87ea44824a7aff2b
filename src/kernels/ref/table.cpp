// Fills a kernel table with the scalar reference of every format and op.
#include "kernels/ref/ref.hpp"

namespace pensieve::kernels {

void fill_ref(KernelTable& table) {
    ref::register_float_formats(table);
    ref::register_legacy_formats(table);
    ref::register_k_formats(table);
    ref::register_ops(table);
}

}  // namespace pensieve::kernels
