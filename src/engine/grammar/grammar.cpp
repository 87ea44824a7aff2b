// Grammar's own operations: the flattening of anyOf nodes into the concrete
// nodes they may start as, and what a grammar holds (see grammar.hpp).
#include <algorithm>

#include "engine/grammar/grammar.hpp"

namespace pensieve::grammar {

size_t Grammar::bytes() const {
    const auto text = [](const std::string& t) { return sizeof(std::string) + t.capacity(); };
    size_t n = sizeof(Grammar) + nodes.capacity() * sizeof(Node);
    for (const Node& node : nodes) {
        n += node.properties.capacity() * sizeof(Property);
        for (const Property& p : node.properties) n += p.key.capacity();
        n += node.literals.capacity() * sizeof(std::string);
        for (const std::string& l : node.literals) n += l.capacity();
        n += (node.options.capacity() + node.alts.capacity()) * sizeof(NodeId);
    }
    for (const std::string& r : relaxed) n += text(r);
    return n;
}

bool Grammar::may_be_object_alt(NodeId a) const {
    const Node& n = nodes[a];
    if (n.kind == NodeKind::Object) return true;
    return n.kind == NodeKind::Literal &&
           std::any_of(n.literals.begin(), n.literals.end(),
                       [](const std::string& l) { return l.starts_with('{'); });
}

bool Grammar::may_be_object(NodeId id) const {
    return std::any_of(nodes[id].alts.begin(), nodes[id].alts.end(),
                       [&](NodeId a) { return may_be_object_alt(a); });
}

void Grammar::finish() {
    // Flatten AnyOf nodes into the concrete nodes they may start as. A node
    // reached again while it is being flattened is a cycle that consumes no
    // input (`{"$ref": "#"}` at the root, anyOf listing itself).
    enum class Mark : uint8_t { None, Active, Done };
    std::vector<Mark> mark(nodes.size(), Mark::None);
    // Flattened lists copy shared anyOf lists into every node that wraps
    // them; bound the total so a small schema cannot ask for gigabytes.
    constexpr size_t kMaxAltEntries = 1'000'000;
    size_t total = 0;
    std::vector<NodeId> stamp(nodes.size(), 0);  // id + 1 of the node whose list holds it
    auto flatten = [&](auto& self, NodeId id) -> void {
        if (mark[id] == Mark::Done) return;
        if (mark[id] == Mark::Active)
            throw SchemaError("", "$ref/anyOf cycle that matches no input");
        Node& n = nodes[id];
        if (n.kind != NodeKind::AnyOf) {
            n.alts = {id};
            mark[id] = Mark::Done;
            return;
        }
        mark[id] = Mark::Active;
        for (NodeId o : n.options) self(self, o);
        // Merge without recursion in between, so `stamp` marks stay ours.
        std::vector<NodeId> alts;
        for (NodeId o : nodes[id].options) {
            for (NodeId a : nodes[o].alts) {
                if (stamp[a] == id + 1) continue;
                if (nodes[id].objects_only && !may_be_object_alt(a)) continue;
                stamp[a] = id + 1;
                alts.push_back(a);
            }
        }
        if (alts.empty()) throw SchemaError("", "the schema matches no JSON object");
        total += alts.size();
        if (total > kMaxAltEntries) throw SchemaError("", "schema too large (anyOf/$ref fan-out)");
        nodes[id].alts = std::move(alts);
        mark[id] = Mark::Done;
    };
    for (NodeId id = 0; id < nodes.size(); ++id) flatten(flatten, id);
    for (Node& n : nodes) {
        auto set = [&](unsigned char c) { n.first_bytes[c >> 6] |= uint64_t{1} << (c & 63); };
        for (size_t i = 0; i < n.properties.size(); ++i) {
            if (n.properties[i].required) n.required_mask |= uint64_t{1} << i;
        }
        switch (n.kind) {
            case NodeKind::Object:
                set('{');
                break;
            case NodeKind::Array:
                set('[');
                break;
            case NodeKind::String:
                set('"');
                break;
            case NodeKind::Number:
            case NodeKind::Integer:
                set('-');
                for (unsigned char c = '0'; c <= '9'; ++c) set(c);
                break;
            case NodeKind::Literal:
                for (const std::string& l : n.literals) {
                    if (!l.empty()) set(static_cast<unsigned char>(l[0]));
                }
                break;
            case NodeKind::AnyOf:
                break;
        }
    }
}

}  // namespace pensieve::grammar
