// Value construction and the dict container. See value.hpp.
#include "chat/value.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <new>

#include "chat/error.hpp"
#include "chat/ops.hpp"

namespace pensieve::chat {

namespace {

constexpr std::size_t kIndexThreshold = 16;  // dicts above this size get a key index
// One entry of the key index: a tree node with its key and position.
constexpr std::size_t kIndexEntryBytes = 80;
// Tuples nested in tuple keys, as deep as any value may nest (Limits::max_value_depth).
constexpr std::size_t kMaxKeyDepth = 256;

void check_key_depth(std::size_t depth) {
    if (depth == 0) throw TemplateLimitError("dict key nested too deeply");
}

KeyClass classify(const Value& key, std::size_t depth) {
    if (key.is_float() && std::isnan(key.as_double())) return KeyClass::NeverEqual;
    if (key.is_dict()) return KeyClass::Unhashable;
    if (!key.is_list()) return KeyClass::Ordered;
    if (key.list().kind != SeqKind::Tuple) return KeyClass::Unhashable;
    check_key_depth(depth);
    KeyClass tuple = KeyClass::Ordered;
    for (const Value& item : key.list().items) {
        const KeyClass c = classify(item, depth - 1);
        if (c == KeyClass::Unhashable) return c;
        if (c == KeyClass::NeverEqual) tuple = c;
    }
    return tuple;
}

// The list or dict that makes `key` unhashable, for Python's error message.
const Value& unhashable_part(const Value& key) {
    if (key.is_list() && key.list().kind == SeqKind::Tuple) {
        for (const Value& item : key.list().items) {
            if (classify(item, kMaxKeyDepth) == KeyClass::Unhashable) return unhashable_part(item);
        }
    }
    return key;
}

// Kinds of Ordered keys; keys of different kinds are never equal.
enum class KeyRank : uint8_t { Undefined, None, Number, String, Tuple, Object };

KeyRank key_rank(const Value& v) {
    switch (v.kind()) {
        case Value::Kind::Undefined:
            return KeyRank::Undefined;
        case Value::Kind::None:
            return KeyRank::None;
        case Value::Kind::String:
            return KeyRank::String;
        case Value::Kind::List:
            return KeyRank::Tuple;
        case Value::Kind::Object:
            return KeyRank::Object;
        default:
            return KeyRank::Number;
    }
}

int key_order(const Value& a, const Value& b, std::size_t depth) {
    const KeyRank rank = key_rank(a);
    if (rank != key_rank(b)) return rank < key_rank(b) ? -1 : 1;
    switch (rank) {
        case KeyRank::Number: {
            const std::partial_ordering c = compare_numbers(a, b);
            return c < 0 ? -1 : (c > 0 ? 1 : 0);
        }
        case KeyRank::String: {
            const int c = a.str().compare(b.str());
            return (c > 0) - (c < 0);
        }
        case KeyRank::Tuple: {
            check_key_depth(depth);
            const auto& x = a.list().items;
            const auto& y = b.list().items;
            for (std::size_t i = 0; i < x.size() && i < y.size(); ++i) {
                if (const int c = key_order(x[i], y[i], depth - 1)) return c;
            }
            return (x.size() > y.size()) - (x.size() < y.size());
        }
        case KeyRank::Object:
            if (a.identity() == b.identity()) return 0;
            return std::less<const void*>()(a.identity(), b.identity()) ? -1 : 1;
        default:
            return 0;  // Undefined and None are one value each
    }
}

std::shared_ptr<StrData> str_data(std::string text, ClientRanges client) {
    auto data = std::make_shared<StrData>(std::move(text), std::move(client));
    data->charge.set(sizeof(StrData) + data->text.capacity() +
                     data->client.ranges().capacity() * sizeof(ByteRange));
    return data;
}

}  // namespace

Value Value::undefined(std::string hint) {
    Value v;
    v.ptr_ = str_data(std::move(hint), {});
    return v;
}

Value Value::boolean(bool b) {
    Value v(Kind::Bool);
    v.scalar_.b = b;
    return v;
}

Value Value::integer(int64_t i) {
    Value v(Kind::Int);
    v.scalar_.i = i;
    return v;
}

Value Value::number(double d) {
    Value v(Kind::Float);
    v.scalar_.f = d;
    return v;
}

Value Value::string(std::string s) {
    Value v(Kind::String);
    v.ptr_ = str_data(std::move(s), {});
    return v;
}

Value Value::string(std::string s, ClientRanges client) {
    Value v(Kind::String);
    v.ptr_ = str_data(std::move(s), std::move(client));
    return v;
}

Value Value::client_string(std::string s) {
    ClientRanges client = ClientRanges::whole(s.size());
    return string(std::move(s), std::move(client));
}

Value Value::list(std::vector<Value> items, SeqKind kind) {
    Value v(Kind::List);
    auto data = std::make_shared<ListData>();
    for (const Value& item : items) data->depth = std::max(data->depth, item.depth() + 1);
    data->items = std::move(items);
    data->kind = kind;
    data->charge.set(sizeof(ListData) + data->items.capacity() * sizeof(Value));
    v.ptr_ = std::move(data);
    return v;
}

Value Value::dict(std::shared_ptr<DictData> d) {
    Value v(Kind::Dict);
    v.ptr_ = std::move(d);
    return v;
}

Value Value::object(std::shared_ptr<Object> o) {
    Value v(Kind::Object);
    v.ptr_ = std::move(o);
    return v;
}

// The last reference to a list, dict or object destroys what it holds, and so on
// down: a chain nested a hundred thousand deep (lists in namespaces in loop frames...)
// would overflow the stack. Below the outermost such destructor, last references are
// queued and dropped one at a time instead, so the stack never grows with the depth.
void Value::release_last_reference() {
    if (ptr_.use_count() != 1) return;  // not the last: nothing is destroyed
    thread_local std::vector<std::shared_ptr<void>>* queue = nullptr;  // set while draining
    if (queue) {
        try {
            queue->push_back(std::move(ptr_));
        } catch (const std::bad_alloc&) {
            // Nothing was moved: ptr_ is destroyed in place, recursively.
        }
        return;
    }
    std::vector<std::shared_ptr<void>> pending;
    queue = &pending;
    ptr_.reset();
    while (!pending.empty()) {
        std::shared_ptr<void> last = std::move(pending.back());
        pending.pop_back();
        last.reset();  // queues the last references it held
    }
    queue = nullptr;
}

std::string Value::undefined_hint() const {
    if (ptr_) return static_cast<const StrData*>(ptr_.get())->text;
    return "value is undefined";
}

DictData::DictData(const DictData& other)
    : items_(other.items_), depth_(other.depth_), index_(other.index_) {
    charge_storage();
}

DictData& DictData::operator=(const DictData& other) {
    if (this != &other) *this = DictData(other);
    return *this;
}

KeyClass classify_key(const Value& key) {
    return classify(key, kMaxKeyDepth);
}

bool KeyLess::operator()(const Value& a, const Value& b) const {
    return key_order(a, b, kMaxKeyDepth) < 0;
}

bool KeyLess::operator()(const Value& a, std::string_view b) const {
    return a.is_string() ? std::string_view(a.str()) < b : key_rank(a) < KeyRank::String;
}

bool KeyLess::operator()(std::string_view a, const Value& b) const {
    return b.is_string() ? a < std::string_view(b.str()) : KeyRank::String < key_rank(b);
}

const Value* DictData::find(std::string_view key) const {
    if (items_.size() > kIndexThreshold) {
        auto it = index_.find(key);
        return it == index_.end() ? nullptr : &items_[it->second].second;
    }
    for (const auto& [k, v] : items_) {
        if (k.is_string() && k.str() == key) return &v;
    }
    return nullptr;
}

const Value* DictData::find(const Value& key) const {
    if (key.is_string()) return find(std::string_view(key.str()));
    if (classify_key(key) != KeyClass::Ordered) return nullptr;  // equal to no key
    if (items_.size() > kIndexThreshold) {
        auto it = index_.find(key);
        return it == index_.end() ? nullptr : &items_[it->second].second;
    }
    for (const auto& [k, v] : items_) {
        if (!k.is_string() && values_equal(k, key)) return &v;
    }
    return nullptr;
}

void DictData::set(Value key, Value value) {
    const KeyClass key_class = key.is_string() ? KeyClass::Ordered : classify_key(key);
    if (key_class == KeyClass::Unhashable) {
        throw TemplateRenderError("unhashable type: '" + type_name(unhashable_part(key)) + "'");
    }
    // A key equal to nothing is always a new entry.
    const Value* existing = key_class == KeyClass::Ordered ? find(key) : nullptr;
    if (existing) {
        depth_ = std::max(depth_, value.depth() + 1);
        *const_cast<Value*>(existing) = std::move(value);
        return;
    }
    depth_ = std::max({depth_, key.depth() + 1, value.depth() + 1});
    items_.emplace_back(std::move(key), std::move(value));
    if (items_.size() == kIndexThreshold + 1) {
        for (std::size_t i = 0; i < items_.size(); ++i) index_key(i);
    } else if (items_.size() > kIndexThreshold + 1) {
        index_key(items_.size() - 1);
    }
    charge_storage();
}

void DictData::charge_storage() {
    charge_.set(sizeof(DictData) + items_.capacity() * sizeof(items_[0]) +
                index_.size() * kIndexEntryBytes);
}

void DictData::index_key(std::size_t i) {
    const Value& key = items_[i].first;
    if (key.is_string() || classify_key(key) == KeyClass::Ordered) index_.emplace(key, i);
}

const Value* CallArgs::get(std::size_t pos, std::string_view name) const {
    if (pos < args.size()) return &args[pos];
    for (const auto& [k, v] : kwargs) {
        if (k == name) return &v;
    }
    return nullptr;
}

Value Object::get_attr(std::string_view name) const {
    return Value::undefined("'" + type_name() + " object' has no attribute '" + std::string(name) +
                            "'");
}

bool Object::set_attr(std::string_view, Value) {
    return false;
}

Value Object::call(Interpreter&, CallArgs&) {
    throw TemplateRenderError("'" + type_name() + "' object is not callable");
}

std::string Object::repr() const {
    return "<" + type_name() + " object>";
}

}  // namespace pensieve::chat
