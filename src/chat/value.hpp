// The values templates compute with, modelled on the Python objects jinja2 sees:
// Undefined, None, bool, int, float, str, list/tuple, dict (insertion-ordered) and a few
// objects (namespace, loop, macro, bound method...).
//
// Why our own type rather than nlohmann::json: templates need Undefined (with the name
// that was missing, for jinja2's error text), the int/float/bool distinctions of Python,
// tuples, callables and mutable namespaces, and cheap copies: strings, lists and dicts
// are immutable once built and shared by reference count, so passing a message list
// through filters and loops never copies it. JSON is converted once at the boundary.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "chat/client_text.hpp"
#include "chat/memory_budget.hpp"

namespace pensieve::chat {

class Value;
class Object;
class Interpreter;

enum class SeqKind : uint8_t {
    List,
    Tuple,
    Iterator,  // a Python generator/iterator: always truthy, has no len(), no indexing
};

// A str: its bytes and which of them came from the client (client_text.hpp).
struct StrData {
    StrData(std::string t, ClientRanges c) : text(std::move(t)), client(std::move(c)) {}
    std::string text;
    ClientRanges client;
    Charge charge;  // against the render's memory budget (memory_budget.hpp)
};

struct ListData {
    std::vector<Value> items;
    SeqKind kind = SeqKind::List;
    std::size_t depth = 1;  // Value::depth of the list
    Charge charge;
};

// What a value can be as a dict key. Python hashes str, numbers, None, tuples of
// hashable values and objects (by identity); lists and dicts it refuses. A key holding
// a NaN is hashable but equal to nothing (not even itself, as a new float each time).
enum class KeyClass : uint8_t { Ordered, NeverEqual, Unhashable };
KeyClass classify_key(const Value& key);

// A strict total order on Ordered keys whose equivalence is Python's ==: 1, 1.0 and
// True are one key; 2**53 + 1 and 2.0**53 are two. Keys of different kinds order by
// kind. Strings compare with std::string_view keys without building a Value.
struct KeyLess {
    using is_transparent = void;
    bool operator()(const Value& a, const Value& b) const;
    bool operator()(const Value& a, std::string_view b) const;
    bool operator()(std::string_view a, const Value& b) const;
};

// Insertion-ordered mapping with Python key equality. Small dicts (the common case:
// a message has 2-4 keys) are searched linearly; larger ones get an ordered index of
// their keys, so that building or comparing a dict of n keys of any kind costs
// n log n (a dict literal of 100,000 int keys once took a linear search per key).
class DictData {
  public:
    DictData() = default;
    DictData(const DictData& other);  // the copy's storage is charged to the render making it
    DictData& operator=(const DictData& other);
    DictData(DictData&&) noexcept = default;
    DictData& operator=(DictData&&) noexcept = default;
    ~DictData() = default;

    const Value* find(const Value& key) const;
    const Value* find(std::string_view key) const;
    // Insert or replace, keeping first-insertion order. An unhashable key (a list, a
    // dict, a tuple holding one) is a TemplateRenderError, as in Python.
    void set(Value key, Value value);
    const std::vector<std::pair<Value, Value>>& items() const { return items_; }
    std::size_t size() const;  // defined after Value: clang needs Value complete here
    // Value::depth of the dict; a replaced entry does not lower it.
    std::size_t depth() const { return depth_; }

  private:
    void index_key(std::size_t i);
    void charge_storage();
    std::vector<std::pair<Value, Value>> items_;
    std::size_t depth_ = 1;
    std::map<Value, std::size_t, KeyLess> index_;  // Ordered keys -> position in items_
    Charge charge_;
};

class Value {
  public:
    enum class Kind : uint8_t { Undefined, None, Bool, Int, Float, String, List, Dict, Object };

    Value() = default;  // Undefined with no name
    Value(const Value&) = default;
    Value(Value&&) noexcept = default;
    Value& operator=(const Value&) = default;
    Value& operator=(Value&&) noexcept = default;
    ~Value() {
        if (kind_ >= Kind::List) release_last_reference();
    }

    static Value undefined(std::string hint);  // hint: jinja2's message if it is used
    static Value none() { return Value(Kind::None); }
    static Value boolean(bool b);
    static Value integer(int64_t i);
    static Value number(double d);
    static Value string(std::string s);  // template text
    static Value string(std::string s, ClientRanges client);
    static Value string(TrackedText t) { return string(std::move(t.text), std::move(t.client)); }
    static Value client_string(std::string s);  // text that came from the request
    static Value list(std::vector<Value> items, SeqKind kind = SeqKind::List);
    static Value dict(std::shared_ptr<DictData> d);
    static Value object(std::shared_ptr<Object> o);

    Kind kind() const { return kind_; }
    bool is_undefined() const { return kind_ == Kind::Undefined; }
    bool is_none() const { return kind_ == Kind::None; }
    bool is_bool() const { return kind_ == Kind::Bool; }
    bool is_int() const { return kind_ == Kind::Int; }  // not bool
    bool is_float() const { return kind_ == Kind::Float; }
    bool is_number() const { return kind_ == Kind::Bool || kind_ == Kind::Int || is_float(); }
    bool is_integral() const { return kind_ == Kind::Bool || kind_ == Kind::Int; }
    bool is_string() const { return kind_ == Kind::String; }
    bool is_list() const { return kind_ == Kind::List; }
    bool is_dict() const { return kind_ == Kind::Dict; }
    bool is_object() const { return kind_ == Kind::Object; }

    bool as_bool() const { return scalar_.b; }
    int64_t as_int() const { return kind_ == Kind::Bool ? (scalar_.b ? 1 : 0) : scalar_.i; }
    double as_double() const { return is_float() ? scalar_.f : static_cast<double>(as_int()); }
    const std::string& str() const { return static_cast<const StrData*>(ptr_.get())->text; }
    // Which bytes of str() are client text; empty for template text.
    const ClientRanges& client_ranges() const {
        return static_cast<const StrData*>(ptr_.get())->client;
    }
    const ListData& list() const { return *static_cast<const ListData*>(ptr_.get()); }
    const DictData& dict() const { return *static_cast<const DictData*>(ptr_.get()); }
    Object& object() const { return *static_cast<Object*>(ptr_.get()); }
    std::shared_ptr<Object> object_ptr() const { return std::static_pointer_cast<Object>(ptr_); }
    const void* identity() const { return ptr_.get(); }
    // How deeply lists and dicts nest: 0 for a scalar, str or object (objects print and
    // compare without looking inside), 1 + the deepest item (or key) for a list or dict.
    std::size_t depth() const;
    // The message jinja2 would give when this Undefined is used ("'x' is undefined").
    std::string undefined_hint() const;

  private:
    explicit Value(Kind k) : kind_(k) {}
    void release_last_reference();
    Kind kind_ = Kind::Undefined;
    union {
        bool b;
        int64_t i;
        double f;
    } scalar_{};
    std::shared_ptr<void> ptr_;  // StrData (str, undefined hint) / ListData / DictData / Object
};

inline std::size_t DictData::size() const {
    return items_.size();
}

inline std::size_t Value::depth() const {
    if (kind_ == Kind::List) return list().depth;
    if (kind_ == Kind::Dict) return dict().depth();
    return 0;
}

// Positional and keyword arguments of a call, as evaluated.
struct CallArgs {
    std::vector<Value> args;
    std::vector<std::pair<std::string, Value>> kwargs;

    // Argument `pos` or keyword `name`, or Undefined when neither was given.
    const Value* get(std::size_t pos, std::string_view name) const;
};

// Non-data objects: namespace(), loop, macros, builtin functions, bound methods.
// Objects are always owned by shared_ptr (Value::object), so methods that hand out
// callables can keep their object alive with shared_from_this().
class Object : public std::enable_shared_from_this<Object> {
  public:
    virtual ~Object() = default;
    virtual std::string type_name() const = 0;                  // as Python would name the type
    virtual Value get_attr(std::string_view name) const;        // Undefined when absent
    virtual bool set_attr(std::string_view name, Value value);  // false when not allowed
    virtual bool is_callable() const { return false; }
    virtual Value call(Interpreter& interp, CallArgs& args);
    virtual std::string repr() const;
    // Drops references to other values. Called when a render ends, so that cycles a
    // template can build (a namespace holding itself, a macro and the scope that holds
    // it) do not leak.
    virtual void release_references() {}
};

}  // namespace pensieve::chat
