// AVX2 kernel registration, one function per source file in this folder.
// Every file here is compiled with -mavx2 -mfma -mf16c and must only be
// reached through patch_avx2(), after CPUID said the CPU has them. Keep helpers
// in unnamed namespaces and avoid standard-library templates here: an inline
// function instantiated in this TU could be emitted with AVX2 code and picked
// by the linker for baseline callers.
#pragma once

#include "kernels/dispatch.hpp"

namespace pensieve::kernels::avx2 {

void register_formats(KernelTable& table);  // formats.cpp
void register_ops(KernelTable& table);      // ops.cpp

}  // namespace pensieve::kernels::avx2
