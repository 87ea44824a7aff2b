// Split GGUFs: GgufFile::open_model maps every part of a model written in
// llama.cpp's gguf-split layout and joins their tensor tables; a missing or
// inconsistent part is a gguf::Error that says what is wrong.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "gguf_test_util.hpp"

namespace pensieve::gguf {
namespace {

namespace fs = std::filesystem;
using testing::random_bytes;

class SplitTest : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("pensieve_split_" + std::to_string(::getpid()));
        fs::create_directories(dir_);
    }
    void TearDown() override { fs::remove_all(dir_); }

    std::string part(int i) const { return "model-0000" + std::to_string(i) + "-of-00003.gguf"; }

    // Three parts: metadata and one tensor in the first, one tensor in each
    // of the others. `no_of` overrides a part's split.no; `tensors` the total.
    void write(int bad_part = -1, uint16_t bad_no = 0, int32_t tensors = 3,
               const std::string& dup = "") {
        for (int i = 0; i < 3; ++i) {
            GgufWriter w;
            if (i == 0) {
                w.set("general.architecture", std::string("llama"));
                w.set("split.tensors.count", tensors);
            }
            w.set("split.no", static_cast<uint16_t>(i == bad_part ? bad_no : i));
            w.set("split.count", uint16_t{3});
            const std::string name = i == 2 && !dup.empty() ? dup : "t" + std::to_string(i);
            w.add_tensor(name, TensorType::F32, {4}, bytes(i));
            w.write(dir_ / part(i + 1));
        }
    }
    static std::vector<uint8_t> bytes(int i) { return random_bytes(16, static_cast<uint32_t>(i)); }

    void expect_error(const std::string& needle, int which = 1) {
        try {
            (void)GgufFile::open_model(dir_ / part(which));
            ADD_FAILURE() << "expected an error containing " << needle;
        } catch (const Error& e) {
            EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
        }
    }

    fs::path dir_;
};

TEST_F(SplitTest, EveryPartsTensorsAreInOneTable) {
    write();
    const GgufFile f = GgufFile::open_model(dir_ / part(1));
    ASSERT_EQ(f.tensors().size(), 3u);
    for (int i = 0; i < 3; ++i) {
        const TensorInfo* t = f.find_tensor("t" + std::to_string(i));
        ASSERT_NE(t, nullptr) << i;
        EXPECT_EQ(std::memcmp(t->data, bytes(i).data(), 16), 0) << i;
    }
    EXPECT_EQ(f.get_string("general.architecture"), "llama");
    // Opened alone, the first part holds only its own tensor.
    EXPECT_EQ(GgufFile::open(dir_ / part(1)).tensors().size(), 1u);
}

TEST_F(SplitTest, EachTensorKnowsItsPartAndWhereThatPartsDataStarts) {
    write();
    const GgufFile f = GgufFile::open_model(dir_ / part(1));
    EXPECT_EQ(f.part_count(), 3u);
    for (uint32_t i = 0; i < 3; ++i) {
        const TensorInfo* t = f.find_tensor("t" + std::to_string(i));
        ASSERT_NE(t, nullptr) << i;
        EXPECT_EQ(t->part, i);
        // The same offset as the part opened alone reports.
        const GgufFile alone = GgufFile::open(dir_ / part(static_cast<int>(i) + 1));
        EXPECT_EQ(f.data_offset(i) + t->offset,
                  alone.data_offset() + alone.find_tensor(t->name)->offset)
            << i;
    }
    EXPECT_EQ(GgufFile::open(dir_ / part(1)).part_count(), 1u);
}

TEST_F(SplitTest, AFileWithoutSplitKeysOpensAsItself) {
    testing::sample_writer().write(dir_ / "plain.gguf");
    EXPECT_EQ(GgufFile::open_model(dir_ / "plain.gguf").tensors().size(), 3u);
}

TEST_F(SplitTest, AMissingPartIsNamed) {
    write();
    fs::remove(dir_ / part(3));
    expect_error(part(3));
}

TEST_F(SplitTest, ALaterPartOpenedAloneSaysToOpenTheFirst) {
    write();
    expect_error("is part 2 of a 3-part split model; open its first part", 2);
}

TEST_F(SplitTest, APartWithTheWrongNumberIsRefused) {
    write(/*bad_part=*/2, /*bad_no=*/1);
    expect_error("does not say it is part 3 of 3");
}

TEST_F(SplitTest, TheTensorCountMustMatch) {
    write(-1, 0, /*tensors=*/4);
    expect_error("the parts hold 3 tensors, but split.tensors.count is 4");
}

TEST_F(SplitTest, ATensorInTwoPartsIsRefused) {
    write(-1, 0, 3, /*dup=*/"t0");
    expect_error("tensor 't0' is in more than one part");
}

TEST_F(SplitTest, ThePartsShareOneMemoryLimit) {
    // Three parts of 200 tensors each: every part fits the limit alone, but
    // not joined with the others.
    for (int i = 0; i < 3; ++i) {
        GgufWriter w;
        if (i == 0) w.set("split.tensors.count", int32_t{600});
        w.set("split.no", static_cast<uint16_t>(i));
        w.set("split.count", uint16_t{3});
        for (int t = 0; t < 200; ++t) {
            w.add_tensor("blk." + std::to_string(i) + "." + std::to_string(t), TensorType::F32, {4},
                         bytes(t));
        }
        w.write(dir_ / part(i + 1));
    }
    uint64_t largest = 0;
    for (int i = 1; i <= 3; ++i) {
        largest = std::max(largest, GgufFile::open(dir_ / part(i)).parsed_bytes());
    }
    Limits limits;
    limits.max_parsed_bytes = 2 * largest;
    EXPECT_GT(GgufFile::open_model(dir_ / part(1)).parsed_bytes(), limits.max_parsed_bytes);
    try {
        (void)GgufFile::open_model(dir_ / part(1), limits);
        ADD_FAILURE() << "the joined tensor infos passed the memory limit";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("past their memory limit"), std::string::npos)
            << e.what();
    }
}

}  // namespace
}  // namespace pensieve::gguf
