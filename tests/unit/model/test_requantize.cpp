// model::requantize: matrices change format and keep their values within the
// target format's rounding; everything else is copied unchanged.
#include <gtest/gtest.h>

#include <unistd.h>
#include <cstring>
#include <filesystem>
#include <random>
#include <vector>

#include "gguf/file.hpp"
#include "gguf/writer.hpp"
#include "kernels/traits.hpp"
#include "model/requantize.hpp"

namespace pensieve::model {
namespace {

namespace fs = std::filesystem;
using gguf::TensorType;

std::vector<uint8_t> f32_bytes(const std::vector<float>& v) {
    std::vector<uint8_t> out(v.size() * sizeof(float));
    std::memcpy(out.data(), v.data(), out.size());
    return out;
}

std::vector<float> dequantize(const gguf::TensorInfo& t) {
    const auto& tr = kernels::traits(t.type);
    std::vector<float> out(t.n_elements);
    tr.dequantize_row(t.data, out.data(), static_cast<int64_t>(t.n_elements));
    return out;
}

class RequantizeTest : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("pensieve_requantize_" + std::to_string(::getpid()));
        fs::create_directories(dir_);
        std::mt19937 rng(7);
        std::uniform_real_distribution<float> u(-1, 1);
        matrix_.resize(64 * 4);
        for (float& x : matrix_) x = u(rng);
        gguf::GgufWriter w;
        w.set("general.architecture", std::string("llama"));
        w.set("general.file_type", uint32_t{3});
        w.add_tensor("blk.0.attn_q.weight", TensorType::F32, {64, 4}, f32_bytes(matrix_));
        w.add_tensor("blk.0.attn_norm.weight", TensorType::F32, {64},
                     f32_bytes(std::vector<float>(64, 1.5f)));
        w.add_tensor("odd.weight", TensorType::F32, {48, 2},
                     f32_bytes(std::vector<float>(96, 0.25f)));
        w.write(dir_ / "in.gguf");
    }
    void TearDown() override { fs::remove_all(dir_); }

    fs::path dir_;
    std::vector<float> matrix_;
};

TEST_F(RequantizeTest, MatricesTakeTheTargetFormatAndKeepTheirValues) {
    const auto in = gguf::GgufFile::open(dir_ / "in.gguf");
    const RequantizeStats s = requantize(in, dir_ / "out.gguf", TensorType::Q8_0);
    EXPECT_EQ(s.converted, 1);
    EXPECT_EQ(s.kept, 2);
    const auto out = gguf::GgufFile::open(dir_ / "out.gguf");
    const auto* q = out.find_tensor("blk.0.attn_q.weight");
    ASSERT_NE(q, nullptr);
    EXPECT_EQ(q->type, TensorType::Q8_0);
    EXPECT_EQ(q->dims, (std::vector<uint64_t>{64, 4}));
    // Q8_0 rounds each value to a step of max|block| / 127 (values here are in
    // [-1, 1]), so no value may move by more than half a step, plus the F16
    // scale's own rounding.
    const std::vector<float> back = dequantize(*q);
    for (size_t i = 0; i < back.size(); ++i) {
        EXPECT_NEAR(back[i], matrix_[i], 0.5f / 127 * 1.01f) << i;
    }
}

TEST_F(RequantizeTest, VectorsAndRowsThatAreNotWholeBlocksAreCopiedUnchanged) {
    const auto in = gguf::GgufFile::open(dir_ / "in.gguf");
    requantize(in, dir_ / "out.gguf", TensorType::Q8_0);
    const auto out = gguf::GgufFile::open(dir_ / "out.gguf");
    for (const char* name : {"blk.0.attn_norm.weight", "odd.weight"}) {
        const auto* a = in.find_tensor(name);
        const auto* b = out.find_tensor(name);
        ASSERT_NE(b, nullptr) << name;
        EXPECT_EQ(b->type, TensorType::F32) << name;
        ASSERT_EQ(a->n_bytes, b->n_bytes) << name;
        EXPECT_EQ(std::memcmp(a->data, b->data, a->n_bytes), 0) << name;
    }
}

TEST_F(RequantizeTest, MetadataIsCopiedButTheStaleFileTypeIsDropped) {
    const auto in = gguf::GgufFile::open(dir_ / "in.gguf");
    requantize(in, dir_ / "out.gguf", TensorType::Q4_0);
    const auto out = gguf::GgufFile::open(dir_ / "out.gguf");
    EXPECT_EQ(out.get_string("general.architecture"), "llama");
    EXPECT_EQ(out.find("general.file_type"), nullptr);
    EXPECT_EQ(out.find_tensor("blk.0.attn_q.weight")->type, TensorType::Q4_0);
}

TEST_F(RequantizeTest, AFormatWithoutWeightKernelsIsRefused) {
    const auto in = gguf::GgufFile::open(dir_ / "in.gguf");
    EXPECT_THROW(requantize(in, dir_ / "out.gguf", TensorType::Q8_K), std::invalid_argument);
}

TEST_F(RequantizeTest, ExpertTensorsConvertButTheRouterKeepsItsFormat) {
    gguf::GgufWriter w;
    w.set("general.architecture", std::string("qwen3moe"));
    std::vector<float> experts(64 * 4 * 3);
    for (size_t i = 0; i < experts.size(); ++i) experts[i] = static_cast<float>(i % 13) / 13;
    w.add_tensor("blk.0.ffn_up_exps.weight", TensorType::F32, {64, 4, 3}, f32_bytes(experts));
    w.add_tensor("blk.0.ffn_gate_inp.weight", TensorType::F32, {64, 3},
                 f32_bytes(std::vector<float>(192, 0.5f)));
    w.write(dir_ / "moe.gguf");
    const auto in = gguf::GgufFile::open(dir_ / "moe.gguf");
    const RequantizeStats s = requantize(in, dir_ / "out.gguf", TensorType::Q8_0);
    EXPECT_EQ(s.converted, 1);
    EXPECT_EQ(s.kept, 1);
    const auto out = gguf::GgufFile::open(dir_ / "out.gguf");
    const auto* e = out.find_tensor("blk.0.ffn_up_exps.weight");
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->type, TensorType::Q8_0);
    EXPECT_EQ(e->dims, (std::vector<uint64_t>{64, 4, 3}));
    const std::vector<float> back = dequantize(*e);
    for (size_t i = 0; i < back.size(); ++i) EXPECT_NEAR(back[i], experts[i], 0.01f) << i;
    EXPECT_EQ(out.find_tensor("blk.0.ffn_gate_inp.weight")->type, TensorType::F32);
}

}  // namespace
}  // namespace pensieve::model
