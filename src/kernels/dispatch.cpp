// Builds the per-ISA kernel tables once and tracks the active one.
#include "kernels/dispatch.hpp"

#include <atomic>
#include <stdexcept>
#include <string>

namespace pensieve::kernels {
namespace {

KernelTable build(Isa isa) {
    KernelTable table;
    table.isa = isa;
    fill_ref(table);
    // AVX-512 builds on AVX2 so that a format with only an AVX2 path still
    // gets it on an AVX-512 machine.
    if (isa == Isa::Avx2 || isa == Isa::Avx512 || isa == Isa::Amx) patch_avx2(table);
    if (isa == Isa::Avx512 || isa == Isa::Amx) patch_avx512(table);
    if (isa == Isa::Amx) patch_amx(table);
    return table;
}

const KernelTable& ref_table() {
    static const KernelTable table = build(Isa::Ref);
    return table;
}
const KernelTable& avx2_table() {
    static const KernelTable table = build(Isa::Avx2);
    return table;
}
const KernelTable& avx512_table() {
    static const KernelTable table = build(Isa::Avx512);
    return table;
}
const KernelTable& amx_table() {
    static const KernelTable table = build(Isa::Amx);
    return table;
}

std::atomic<const KernelTable*>& active_slot() {
    static std::atomic<const KernelTable*> slot{table_for(detail::startup_isa())};
    return slot;
}

}  // namespace

TypeTraits& type_row(KernelTable& table, TensorType type) {
    return table.types.at(static_cast<uint32_t>(type));
}

PackedGemm& packed_row(KernelTable& table, TensorType type) {
    return table.packed.at(static_cast<uint32_t>(type));
}

PackedGemm& packed_large_row(KernelTable& table, TensorType type) {
    return table.packed_large.at(static_cast<uint32_t>(type));
}

const KernelTable* table_for(Isa isa) {
    if (!isa_supported(isa)) return nullptr;
    switch (isa) {
        case Isa::Ref:
            return &ref_table();
        case Isa::Avx2:
            return &avx2_table();
        case Isa::Avx512:
            return &avx512_table();
        case Isa::Amx:
            return &amx_table();
    }
    return nullptr;
}

const KernelTable& active_table() {
    return *active_slot().load(std::memory_order_acquire);
}

void detail::activate(Isa isa) {
    const KernelTable* table = table_for(isa);
    if (table != nullptr) active_slot().store(table, std::memory_order_release);
}

const TypeTraits* find_traits(TensorType type) {
    const auto id = static_cast<uint32_t>(type);
    if (id >= kTypeIdLimit) return nullptr;
    const TypeTraits& t = active_table().types[id];
    return t.dequantize_row != nullptr ? &t : nullptr;
}

const TypeTraits& traits(TensorType type) {
    const TypeTraits* t = find_traits(type);
    if (t == nullptr) {
        throw std::invalid_argument("kernels: unsupported tensor type id " +
                                    std::to_string(static_cast<uint32_t>(type)));
    }
    return *t;
}

}  // namespace pensieve::kernels
