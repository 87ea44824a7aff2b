// Python semantics for attribute and item access: obj.name, obj[key], slices. See
// ops.hpp.
#include <cstdint>
#include <optional>
#include <string>

#include "chat/error.hpp"
#include "chat/interp.hpp"
#include "chat/methods.hpp"
#include "chat/ops.hpp"
#include "chat/pystr.hpp"

namespace pensieve::chat {

namespace {

std::string object_type_repr(const Value& obj) {
    if (obj.is_none()) return "None";
    return type_name(obj) + " object";
}

Value missing_attr(const Value& obj, std::string_view name) {
    return Value::undefined("'" + object_type_repr(obj) + "' has no attribute '" +
                            std::string(name) + "'");
}

}  // namespace

Value get_attr(const Value& obj, std::string_view name) {
    switch (obj.kind()) {
        case Value::Kind::Undefined:
            fail_undefined(obj);
        case Value::Kind::Object:
            return obj.object().get_attr(name);
        case Value::Kind::String:
        case Value::Kind::List:
        case Value::Kind::Dict: {
            // Python attributes win over keys: `message.items` is dict.items, not a key.
            if (is_attribute(obj, name)) return bound_method(obj, name);
            if (obj.is_dict()) {
                if (const Value* v = obj.dict().find(name)) return *v;
            }
            return missing_attr(obj, name);
        }
        default:
            return missing_attr(obj, name);
    }
}

namespace {

// Code points of a str by index, reached by walking from the last one asked for:
// indexing and slicing cost the distance walked, with no table of offsets (8 bytes per
// code point: 480 MB for a 60 MB string, built for each `s[i]`).
class CodePoints {
  public:
    explicit CodePoints(const std::string& s)
        : s_(s), ascii_(pystr::is_ascii(s)), count_(ascii_ ? s.size() : pystr::length(s)) {}
    int64_t count() const { return static_cast<int64_t>(count_); }
    // Bytes of code point `i`, 0 <= i < count().
    ByteRange at(int64_t i) {
        const auto target = static_cast<std::size_t>(i);
        if (ascii_) return {target, target + 1};
        for (; index_ < target; ++index_) pystr::decode(s_, pos_);
        for (; index_ > target; --index_) pos_ = pystr::prev_start(s_, pos_);
        std::size_t end = pos_;
        pystr::decode(s_, end);
        return {pos_, end};
    }

  private:
    const std::string& s_;
    bool ascii_;
    std::size_t count_;
    std::size_t index_ = 0;  // the code point that starts at byte pos_
    std::size_t pos_ = 0;
};

// Calls visit(i) for each index of the adjusted slice start:stop:step, in order, never
// computing an index past `stop` (a step of 2**63 - 1 would overflow).
template <typename Visit>
void for_each_index(int64_t start, int64_t stop, int64_t step, Visit visit) {
    if (step > 0) {
        for (int64_t i = start; i < stop; i += step) {
            visit(i);
            if (stop - i <= step) break;
        }
    } else {
        const uint64_t magnitude = uint64_t{0} - static_cast<uint64_t>(step);
        for (int64_t i = start; i > stop; i += step) {
            visit(i);
            if (static_cast<uint64_t>(i - stop) <= magnitude) break;
        }
    }
}

}  // namespace

Value get_item(const Value& obj, const Value& key) {
    if (obj.is_undefined()) fail_undefined(obj);
    if (obj.is_dict()) {
        if (const Value* v = obj.dict().find(key)) return *v;
    } else if ((is_sequence(obj) || obj.is_string()) && key.is_integral()) {
        int64_t i = key.as_int();
        if (obj.is_string()) {
            CodePoints points(obj.str());
            if (i < 0) i += points.count();
            if (i >= 0 && i < points.count()) {
                const ByteRange r = points.at(i);
                return substring(obj, r.begin, r.end);
            }
        } else {
            const auto& items = obj.list().items;
            const auto n = static_cast<int64_t>(items.size());
            if (i < 0) i += n;
            if (i >= 0 && i < n) return items[static_cast<std::size_t>(i)];
        }
        return Value::undefined("'" + object_type_repr(obj) + "' has no element " +
                                std::to_string(key.as_int()));
    }
    if (key.is_string()) return get_attr(obj, key.str());
    return Value::undefined("'" + object_type_repr(obj) + "' has no element " + to_repr(key));
}

Value slice(const Value& obj, const Value& start_v, const Value& stop_v, const Value& step_v,
            const Interpreter* render) {
    if (obj.is_undefined()) fail_undefined(obj);
    auto as_index = [](const Value& v, const char* what) -> std::optional<int64_t> {
        if (v.is_none() || v.is_undefined()) return std::nullopt;
        if (!v.is_integral()) {
            throw TemplateRenderError(std::string("slice ") + what + " must be an integer or None");
        }
        return v.as_int();
    };
    const int64_t step = as_index(step_v, "step").value_or(1);
    if (step == 0) throw TemplateRenderError("slice step cannot be zero");
    std::optional<CodePoints> points;
    int64_t n = 0;
    if (obj.is_string()) {
        points.emplace(obj.str());
        n = points->count();
    } else if (is_sequence(obj)) {
        n = static_cast<int64_t>(obj.list().items.size());
    } else {
        return Value::undefined("'" + object_type_repr(obj) + "' object is not subscriptable");
    }
    // Python's PySlice_AdjustIndices.
    auto adjust = [&](std::optional<int64_t> v, int64_t dflt) {
        if (!v) return dflt;
        int64_t i = *v;
        if (i < 0) {
            i += n;
            if (i < 0) i = step < 0 ? -1 : 0;
        } else if (i >= n) {
            i = step < 0 ? n - 1 : n;
        }
        return i;
    };
    const int64_t start = adjust(as_index(start_v, "start"), step < 0 ? n - 1 : 0);
    const int64_t stop = adjust(as_index(stop_v, "stop"), step < 0 ? -1 : n);
    if (points) {
        if (step == 1) {
            if (start >= stop) return Value::string("");
            const std::size_t begin = points->at(start).begin;
            return substring(obj, begin, points->at(stop - 1).end);
        }
        TrackedText out;
        for_each_index(start, stop, step, [&](int64_t i) {
            if (render) render->tick();
            const ByteRange r = points->at(i);
            out.append_part(obj, r.begin, r.end);
        });
        return Value::string(std::move(out));
    }
    std::vector<Value> out;
    for_each_index(start, stop, step, [&](int64_t i) {
        out.push_back(obj.list().items[static_cast<std::size_t>(i)]);
    });
    return Value::list(std::move(out), obj.list().kind);
}

}  // namespace pensieve::chat
