// Value construction and the dict container. See value.hpp.
#include "chat/value.hpp"

#include <algorithm>
#include <new>

#include "chat/error.hpp"
#include "chat/ops.hpp"

namespace pensieve::chat {

namespace {

constexpr std::size_t kIndexThreshold = 16;  // dicts above this size get a hash index
// One entry of the key index: a hash node with its key view and position.
constexpr std::size_t kIndexEntryBytes = 64;

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

const Value* DictData::find(std::string_view key) const {
    if (!index_.empty()) {
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
    for (const auto& [k, v] : items_) {
        if (!k.is_string() && values_equal(k, key)) return &v;
    }
    return nullptr;
}

void DictData::set(Value key, Value value) {
    if (const Value* existing = find(key)) {
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
    if (items_[i].first.is_string()) index_.emplace(items_[i].first.str(), i);
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
