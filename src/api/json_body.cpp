// Bounded JSON parsing: nlohmann's SAX parser (iterative, so nesting costs no
// stack) feeding our own document builder, which checks each bound as values
// arrive and inserts object keys in linear time (ordered_json's own insertion
// searches every earlier key, quadratic in an object's size).
#include "api/json_body.hpp"

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "api/error.hpp"

namespace pensieve::api {

namespace {

using json = nlohmann::ordered_json;

// Objects up to this many keys find a repeated key by a scan; larger ones
// build a hash index of their keys.
constexpr std::size_t kScanKeys = 16;

class BoundedBuilder final : public nlohmann::json_sax<json> {
  public:
    explicit BoundedBuilder(const RequestLimits& limits) : limits_(limits) {}

    json take() { return std::move(root_); }

    bool null() override { return add(json(nullptr)); }
    bool boolean(bool v) override { return add(json(v)); }
    bool number_integer(number_integer_t v) override { return add(json(v)); }
    bool number_unsigned(number_unsigned_t v) override { return add(json(v)); }
    bool number_float(number_float_t v, const string_t&) override { return add(json(v)); }
    bool string(string_t& v) override {
        check_length(v, true);
        return add(json(std::move(v)));
    }
    bool binary(binary_t& v) override {
        return add(json::binary(std::move(v)));
    }  // not in JSON text

    bool start_object(std::size_t) override { return open(json::object()); }
    bool key(string_t& k) override {
        check_length(k, false);
        frames_.back().key = std::move(k);
        return true;
    }
    bool end_object() override { return close(); }
    bool start_array(std::size_t) override { return open(json::array()); }
    bool end_array() override { return close(); }

    bool parse_error(std::size_t, const std::string&, const json::exception& e) override {
        throw invalid_request(std::string("request body is not valid JSON: ") + e.what());
    }

  private:
    struct Frame {
        json* node;       // an array or object still being filled
        std::string key;  // objects: the key of the value that comes next
        std::unique_ptr<std::unordered_map<std::string, std::size_t>> index;  // key -> position
    };

    bool open(json&& container) {
        if (frames_.size() >= limits_.max_json_depth) {
            fail("JSON nested deeper than " + std::to_string(limits_.max_json_depth) + " levels");
        }
        json* node = place(std::move(container));
        frames_.push_back(Frame{node, {}, nullptr});
        return true;
    }

    bool close() {
        frames_.pop_back();
        return true;
    }

    bool add(json&& v) {
        place(std::move(v));
        return true;
    }

    // Puts v where the document is at (the root, the end of an array, or the
    // pending key of an object) and returns where it now lives. The address
    // stays valid while it is open: its parent grows only after it is closed.
    json* place(json&& v) {
        if (++values_ > limits_.max_json_values) {
            fail("more than " + std::to_string(limits_.max_json_values) +
                 " JSON values in the request body");
        }
        if (frames_.empty()) {
            root_ = std::move(v);
            return &root_;
        }
        Frame& f = frames_.back();
        if (f.node->is_array()) {
            auto& items = f.node->get_ref<json::array_t&>();
            items.push_back(std::move(v));
            return &items.back();
        }
        auto& members = f.node->get_ref<json::object_t&>();
        const std::size_t at = find_key(f, members);
        if (at < members.size()) {
            (members.begin() + static_cast<std::ptrdiff_t>(at))->second = std::move(v);
            return &(members.begin() + static_cast<std::ptrdiff_t>(at))->second;
        }
        if (f.index) f.index->emplace(f.key, members.size());
        // The vector's own emplace_back: ordered_map's emplace would search
        // again. The key is copied: an error inside this value names it.
        members.emplace_back(f.key, std::move(v));
        return &members.back().second;
    }

    // The position of f.key among the members, or members.size() if new.
    static std::size_t find_key(Frame& f, const json::object_t& members) {
        if (!f.index && members.size() >= kScanKeys) {
            f.index = std::make_unique<std::unordered_map<std::string, std::size_t>>();
            for (std::size_t i = 0; i < members.size(); ++i) {
                f.index->emplace((members.begin() + static_cast<std::ptrdiff_t>(i))->first, i);
            }
        }
        if (f.index) {
            const auto it = f.index->find(f.key);
            return it == f.index->end() ? members.size() : it->second;
        }
        for (std::size_t i = 0; i < members.size(); ++i) {
            if ((members.begin() + static_cast<std::ptrdiff_t>(i))->first == f.key) return i;
        }
        return members.size();
    }

    void check_length(const std::string& s, bool is_value) const {
        if (s.size() <= limits_.max_string_bytes) return;
        fail(std::string(is_value ? "a string" : "an object key") + " longer than " +
                 std::to_string(limits_.max_string_bytes) + " bytes",
             is_value);
    }

    // The path of the value being read (or, for a key, of its object), built
    // only here, when an error names it.
    [[noreturn]] void fail(const std::string& what, bool name_slot = true) const {
        std::string path;
        for (std::size_t i = 0; i < frames_.size(); ++i) {
            const Frame& f = frames_[i];
            const bool top = i + 1 == frames_.size();
            if (top && !name_slot) break;
            if (!path.empty()) path += '.';
            if (f.node->is_object()) {
                path += f.key;
            } else {  // below the top, the open child is already the last item
                path += std::to_string(f.node->size() - (top ? 0 : 1));
            }
        }
        throw invalid_request((path.empty() ? std::string("request body") : path) + ": " + what +
                              " (the limit)");
    }

    const RequestLimits& limits_;
    json root_;
    std::vector<Frame> frames_;
    std::size_t values_ = 0;
};

}  // namespace

json parse_json_body(std::string_view text, const RequestLimits& limits) {
    BoundedBuilder builder(limits);
    json::sax_parse(text, &builder);
    return builder.take();
}

}  // namespace pensieve::api
