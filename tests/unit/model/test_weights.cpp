// Weight binding: fused tensors become row ranges of one matrix, RoPE factor
// tensors are bound, and every tensor the forward pass does not read is
// listed (loading warns about it) rather than silently ignored; --mlock
// locks every tensor byte, or names RLIMIT_MEMLOCK when refused.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/capability.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "gguf/writer.hpp"
#include "model/model.hpp"
#include "model/weights.hpp"

namespace pensieve::model {
namespace {

using gguf::TensorType;

constexpr uint32_t kEmbd = 32, kFf = 64, kHeads = 2, kHeadDim = 16, kVocab = 8;

std::vector<uint8_t> f16_zeros(uint64_t n) {
    return std::vector<uint8_t>(n * 2, 0);
}

std::vector<uint8_t> f32_ones(uint64_t n) {
    std::vector<uint8_t> out(n * 4);
    const float one = 1.0f;
    for (uint64_t i = 0; i < n; ++i) std::memcpy(&out[i * 4], &one, 4);
    return out;
}

// A one-layer model of `arch` with fused (phi3) or separate tensors.
gguf::GgufWriter tiny(const std::string& arch, bool fused) {
    gguf::GgufWriter w;
    w.set("general.architecture", arch);
    const std::string a = arch + ".";
    w.set(a + "embedding_length", kEmbd);
    w.set(a + "block_count", uint32_t{1});
    w.set(a + "feed_forward_length", kFf);
    w.set(a + "attention.head_count", kHeads);
    w.set(a + "attention.head_count_kv", kHeads);
    w.add_tensor("token_embd.weight", TensorType::F16, {kEmbd, kVocab}, f16_zeros(kEmbd * kVocab));
    w.add_tensor("output_norm.weight", TensorType::F32, {kEmbd}, f32_ones(kEmbd));
    w.add_tensor("blk.0.attn_norm.weight", TensorType::F32, {kEmbd}, f32_ones(kEmbd));
    w.add_tensor("blk.0.ffn_norm.weight", TensorType::F32, {kEmbd}, f32_ones(kEmbd));
    const uint64_t q = kHeads * kHeadDim;
    if (fused) {
        w.add_tensor("blk.0.attn_qkv.weight", TensorType::F16, {kEmbd, 3 * q},
                     f16_zeros(kEmbd * 3 * q));
        w.add_tensor("blk.0.ffn_up.weight", TensorType::F16, {kEmbd, 2 * kFf},
                     f16_zeros(kEmbd * 2 * kFf));
    } else {
        for (const char* n : {"attn_q", "attn_k", "attn_v"}) {
            w.add_tensor("blk.0." + std::string(n) + ".weight", TensorType::F16, {kEmbd, q},
                         f16_zeros(kEmbd * q));
        }
        for (const char* n : {"ffn_gate", "ffn_up"}) {
            w.add_tensor("blk.0." + std::string(n) + ".weight", TensorType::F16, {kEmbd, kFf},
                         f16_zeros(kEmbd * kFf));
        }
    }
    w.add_tensor("blk.0.attn_output.weight", TensorType::F16, {q, kEmbd}, f16_zeros(q * kEmbd));
    w.add_tensor("blk.0.ffn_down.weight", TensorType::F16, {kFf, kEmbd}, f16_zeros(kFf * kEmbd));
    return w;
}

// The file's bytes with what was bound from them (the views point into bytes).
struct Bound {
    explicit Bound(const gguf::GgufWriter& writer)
        : bytes(writer.to_bytes()),
          file(gguf::GgufFile::parse(bytes)),
          hp(read_hparams(file)),
          w(bind_weights(file, hp)) {}
    std::vector<uint8_t> bytes;
    gguf::GgufFile file;
    HParams hp;
    Weights w;
};

std::unique_ptr<Bound> bind(const gguf::GgufWriter& writer) {
    return std::make_unique<Bound>(writer);
}

TEST(Weights, EveryTensorOfAPlainLlamaIsUsed) {
    const auto b = bind(tiny("llama", false));
    EXPECT_TRUE(b->w.unused_tensors.empty());
    EXPECT_EQ(b->w.rope_freqs, nullptr);
}

TEST(Weights, TensorsTheForwardPassDoesNotReadAreListed) {
    auto w = tiny("llama", false);
    w.add_tensor("blk.0.attn_rot_embd.weight", TensorType::F32, {8}, f32_ones(8));
    w.add_tensor("mystery.weight", TensorType::F32, {4}, f32_ones(4));
    const auto b = bind(w);
    EXPECT_EQ(b->w.unused_tensors,
              (std::vector<std::string>{"blk.0.attn_rot_embd.weight", "mystery.weight"}));
}

TEST(Weights, Llama31RopeFreqsAreBoundAndChecked) {
    auto w = tiny("llama", false);
    w.add_tensor("rope_freqs.weight", TensorType::F32, {kHeadDim / 2}, f32_ones(kHeadDim / 2));
    const auto b = bind(w);
    ASSERT_NE(b->w.rope_freqs, nullptr);
    EXPECT_FLOAT_EQ(b->w.rope_freqs[3], 1.0f);
    EXPECT_TRUE(b->w.unused_tensors.empty());

    auto zero = tiny("llama", false);
    zero.add_tensor("rope_freqs.weight", TensorType::F32, {kHeadDim / 2},
                    std::vector<uint8_t>(kHeadDim / 2 * 4, 0));
    EXPECT_THROW(bind(zero), ModelError);
    auto wrong = tiny("llama", false);
    wrong.add_tensor("rope_freqs.weight", TensorType::F32, {kHeadDim}, f32_ones(kHeadDim));
    EXPECT_THROW(bind(wrong), ModelError);
}

TEST(Weights, Phi3FusedTensorsAreSplitIntoRowRanges) {
    auto w = tiny("phi3", true);
    w.add_tensor("rope_factors_short.weight", TensorType::F32, {kHeadDim / 2},
                 f32_ones(kHeadDim / 2));
    w.add_tensor("rope_factors_long.weight", TensorType::F32, {kHeadDim / 2},
                 f32_ones(kHeadDim / 2));
    const auto b = bind(w);
    const LayerWeights& l = b->w.layers[0];
    const auto* qkv =
        static_cast<const uint8_t*>(b->file.find_tensor("blk.0.attn_qkv.weight")->data);
    const size_t row = kEmbd * 2;  // F16
    const int64_t q = kHeads * kHeadDim;
    EXPECT_EQ(l.wq.data, qkv);
    EXPECT_EQ(l.wk.data, qkv + static_cast<size_t>(q) * row);
    EXPECT_EQ(l.wv.data, qkv + static_cast<size_t>(2 * q) * row);
    EXPECT_EQ(l.wq.n, q);
    EXPECT_EQ(l.wv.n, q);
    const auto* up = static_cast<const uint8_t*>(b->file.find_tensor("blk.0.ffn_up.weight")->data);
    EXPECT_EQ(l.w_gate.data, up);  // the gate rows come first
    EXPECT_EQ(l.w_up.data, up + kFf * row);
    EXPECT_EQ(l.w_up.n, kFf);
    EXPECT_NE(b->w.rope_short, nullptr);
    EXPECT_NE(b->w.rope_long, nullptr);
    EXPECT_TRUE(b->w.unused_tensors.empty());
}

TEST(Weights, Phi3WithSeparateGateAndUpIsAShapeError) {
    EXPECT_THROW(bind(tiny("phi3", false)), ModelError);
}

std::filesystem::path written_model() {
    const auto path =
        std::filesystem::temp_directory_path() / ("mlock_" + std::to_string(::getpid()) + ".gguf");
    tiny("llama", false).write(path);
    return path;
}

TEST(ModelLock, LocksEveryTensorByteOfTheMapping) {
    const auto path = written_model();
    const auto model = Model::load(path);
    uint64_t tensors = 0;
    for (const gguf::TensorInfo& t : model->file().tensors()) tensors += t.n_bytes;
    EXPECT_GE(model->lock_in_memory(), tensors);
    std::filesystem::remove(path);
}

// Tensor pages of `model` not in the page cache (mincore).
size_t pages_missing(const Model& model) {
    const auto page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
    size_t missing = 0;
    for (const gguf::TensorInfo& t : model.file().tensors()) {
        const auto from = reinterpret_cast<uintptr_t>(t.data) / page * page;
        const auto to = reinterpret_cast<uintptr_t>(t.data) + t.n_bytes;
        std::vector<unsigned char> in((to - from + page - 1) / page);
        if (::mincore(reinterpret_cast<void*>(from), to - from, in.data()) != 0) return SIZE_MAX;
        for (unsigned char c : in) missing += (c & 1) == 0;
    }
    return missing;
}

// A model whose tensors reach well past the first 2 MiB of the file, which
// reading its header maps (and so keeps cached) whole.
TEST(ModelPageIn, ReadsEveryTensorPageIntoTheCache) {
    const auto path = std::filesystem::temp_directory_path() /
                      ("page_in_" + std::to_string(::getpid()) + ".gguf");
    auto w = tiny("llama", false);
    constexpr int64_t kExtra = 2 << 20;  // F32 elements: 8 MiB
    w.add_tensor("extra.weight", TensorType::F32, {kExtra}, f32_ones(kExtra));
    w.write(path);
    const auto model = Model::load(path);
    // The tensors the mapping has not read yet leave the cache.
    const int fd = ::open(path.c_str(), O_RDONLY);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED), 0);
    ::close(fd);
    ASSERT_GT(pages_missing(*model), 0u);
    uint64_t tensors = 0;
    for (const gguf::TensorInfo& t : model->file().tensors()) tensors += t.n_bytes;
    EXPECT_GE(model->page_in(), tensors);
    EXPECT_EQ(pages_missing(*model), 0u);
    std::filesystem::remove(path);
}

// Without CAP_IPC_LOCK (which root holds and which ignores the limit) and
// with RLIMIT_MEMLOCK at 0, the kernel refuses: a ModelError that names the
// limit and how to raise it. Run in a child process (EXPECT_EXIT), which
// drops the capability for itself alone; exits 0 on the expected message.
[[noreturn]] void lock_without_the_capability(const std::filesystem::path& path) {
    __user_cap_header_struct head{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct caps[2]{};
    if (::syscall(SYS_capget, &head, caps) != 0) std::_Exit(3);
    caps[CAP_IPC_LOCK / 32].effective &= ~(1u << (CAP_IPC_LOCK % 32));
    if (::syscall(SYS_capset, &head, caps) != 0) std::_Exit(4);
    const rlimit zero{0, 0};
    if (::setrlimit(RLIMIT_MEMLOCK, &zero) != 0) std::_Exit(5);
    const auto model = Model::load(path);
    try {
        model->lock_in_memory();
    } catch (const ModelError& e) {
        const std::string m = e.what();
        const bool named = m.find("RLIMIT_MEMLOCK is 0 KiB") != std::string::npos &&
                           m.find("ulimit -l") != std::string::npos;
        std::_Exit(named ? 0 : 6);
    }
    std::_Exit(7);
}

TEST(ModelLock, ARefusalNamesTheMemlockLimit) {
    const auto path = written_model();
    EXPECT_EXIT(lock_without_the_capability(path), ::testing::ExitedWithCode(0), "");
    std::filesystem::remove(path);
}

}  // namespace
}  // namespace pensieve::model
