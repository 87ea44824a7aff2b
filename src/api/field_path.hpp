// Where a value sits in a request ("messages.3.content.7.text"), kept as a
// chain of small links on the validator's stack and spelled out only when an
// error names it: building the string for every block would make validating
// a body of many blocks cost far more than reading it.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>

namespace pensieve::api {

class FieldPath {
  public:
    // The root: a top-level field of the body.
    explicit FieldPath(std::string_view field) : key_(field) {}

    // The returned link refers to *this: keep it no longer than *this. Links
    // are not made from temporaries (`path / "a" / 0` would dangle).
    FieldPath operator/(std::string_view key) const& { return FieldPath(this, key, 0); }
    FieldPath operator/(std::size_t index) const& { return FieldPath(this, {}, index); }
    FieldPath operator/(std::string_view key) const&& = delete;
    FieldPath operator/(std::size_t index) const&& = delete;

    std::string str() const {
        std::string out = parent_ != nullptr ? parent_->str() + "." : std::string();
        return key_.data() != nullptr ? out.append(key_) : out + std::to_string(index_);
    }

  private:
    FieldPath(const FieldPath* parent, std::string_view key, std::size_t index)
        : parent_(parent), key_(key), index_(index) {}

    const FieldPath* parent_ = nullptr;
    std::string_view key_;  // data() == nullptr: an array index
    std::size_t index_ = 0;
};

// Renaming the field an error message names, for a dialect whose body spells
// it otherwise: the leading path of `message` (the text before ": ", when
// there is one) and the rest, and whether `path` starts with the whole
// segments `from` (replaced by `to` when it does).
inline std::pair<std::string, std::string> split_field(const std::string& message) {
    const std::size_t colon = message.find(": ");
    if (colon == std::string::npos || colon == 0) return {"", message};
    return {message.substr(0, colon), message.substr(colon)};
}

inline bool rename_field_prefix(std::string& path, std::string_view from, std::string_view to) {
    if (!path.starts_with(from) || (path.size() > from.size() && path[from.size()] != '.')) {
        return false;
    }
    path = std::string(to) + path.substr(from.size());
    return true;
}

}  // namespace pensieve::api
