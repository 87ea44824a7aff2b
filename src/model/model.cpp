// Loading a model: map, read hyper-parameters, bind weights, and warn about
// tensors the forward pass will not read (a family feature we lack would
// otherwise change the output without a word).
#include "model/model.hpp"

#include <cstdio>
#include <string>

namespace pensieve::model {

Model::Model(gguf::GgufFile file) : file_(std::move(file)), hp_(read_hparams(file_)) {
    weights_ = bind_weights(file_, hp_);
    const std::vector<std::string>& unused = weights_.unused_tensors;
    if (unused.empty()) return;
    constexpr size_t kNamed = 8;
    std::string names;
    for (size_t i = 0; i < unused.size() && i < kNamed; ++i) {
        names += (i ? ", " : "") + unused[i];
    }
    if (unused.size() > kNamed)
        names += ", and " + std::to_string(unused.size() - kNamed) + " more";
    std::fprintf(stderr,
                 "warning: %zu tensor(s) of this %s model are not used by the forward pass: %s\n",
                 unused.size(), hp_.arch.c_str(), names.c_str());
}

std::unique_ptr<Model> Model::load(const std::filesystem::path& path) {
    return std::unique_ptr<Model>(new Model(gguf::GgufFile::open_model(path)));
}

}  // namespace pensieve::model
