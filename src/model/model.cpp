// Loading a model: map, read hyper-parameters, bind weights.
#include "model/model.hpp"

namespace pensieve::model {

Model::Model(gguf::GgufFile file) : file_(std::move(file)), hp_(read_hparams(file_)) {
    weights_ = bind_weights(file_, hp_);
}

std::unique_ptr<Model> Model::load(const std::filesystem::path& path) {
    return std::unique_ptr<Model>(new Model(gguf::GgufFile::open(path)));
}

}  // namespace pensieve::model
