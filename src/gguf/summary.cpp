// Summary of a GGUF file for `pensieve info`.
#include "gguf/summary.hpp"

#include <variant>

namespace pensieve::gguf {

namespace {

// Head counts may be stored per layer as an array (some architectures vary
// them); report the first layer's value then.
std::optional<int64_t> int_or_first(const GgufFile& file, const std::string& key) {
    const Value* v = file.find(key);
    if (v == nullptr) return std::nullopt;
    if (const auto* a = std::get_if<Array>(v)) {
        if (a->count == 0 || a->elem_type == ValueType::String ||
            a->elem_type == ValueType::Array) {
            return std::nullopt;
        }
        Value first;
        switch (a->elem_type) {
            case ValueType::Int32:
                first = (*a->as<int32_t>())[0];
                break;
            case ValueType::UInt32:
                first = (*a->as<uint32_t>())[0];
                break;
            default:
                return std::nullopt;
        }
        return as_int(first);
    }
    return file.get_int(key);
}

}  // namespace

Summary summarize(const GgufFile& file) {
    Summary s;
    s.version = file.version();
    s.architecture = file.get_string("general.architecture").value_or("");
    s.name = file.get_string("general.name").value_or("");
    s.tensor_count = file.tensors().size();
    for (const TensorInfo& t : file.tensors()) {
        s.parameters += t.n_elements;
        s.tensor_bytes += t.n_bytes;
        TypeUsage& use = s.types[std::string(type_info(t.type).name)];
        use.tensors += 1;
        use.bytes += t.n_bytes;
        use.elements += t.n_elements;
    }
    const std::string a = s.architecture + ".";
    s.context_length = file.get_int(a + "context_length");
    s.embedding_length = file.get_int(a + "embedding_length");
    s.block_count = file.get_int(a + "block_count");
    s.feed_forward_length = int_or_first(file, a + "feed_forward_length");
    s.head_count = int_or_first(file, a + "attention.head_count");
    s.head_count_kv = int_or_first(file, a + "attention.head_count_kv");
    if (const Array* tokens = file.get_array("tokenizer.ggml.tokens")) s.vocab_size = tokens->count;
    s.tokenizer_model = file.get_string("tokenizer.ggml.model").value_or("");
    s.tokenizer_pre = file.get_string("tokenizer.ggml.pre").value_or("");
    s.has_chat_template = file.find("tokenizer.chat_template") != nullptr;
    return s;
}

}  // namespace pensieve::gguf
