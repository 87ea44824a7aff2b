// Text and tool_use blocks of a reply (see reply_blocks.hpp).
#include "api/reply_blocks.hpp"

#include "api/messages_response.hpp"

namespace pensieve::api {

ReplyBlocks::ReplyBlocks(Options options) : max_calls_(options.max_calls) {
    if (options.syntax) {
        chat::ToolCallParserOptions parser_options;
        parser_options.known_tools = std::move(options.tool_names);
        parser_.emplace(*options.syntax, std::move(parser_options));
    }
}

void ReplyBlocks::close(std::string& out) {
    if (open_ == Open::None) return;
    out += block_stop_event(index());
    open_ = Open::None;
}

void ReplyBlocks::text(const std::string& piece, std::string& out) {
    if (piece.empty()) return;
    if (max_calls_ > 0 && calls_ >= max_calls_) return;  // the reply ended with its last call
    if (open_ != Open::Text) {
        close(out);
        content_.push_back({{"type", "text"}, {"text", ""}});
        open_ = Open::Text;
        out += text_block_start_event(index());
    }
    content_.back()["text"].get_ref<std::string&>() += piece;
    out += text_delta_event(index(), piece);
}

std::string ReplyBlocks::handle(const std::vector<chat::ToolCallEvent>& events) {
    using Kind = chat::ToolCallEvent::Kind;
    std::string out;
    for (const chat::ToolCallEvent& e : events) {
        if (e.kind == Kind::Text) {
            text(e.text, out);
            continue;
        }
        if (e.id == dropped_call_) continue;
        switch (e.kind) {
            case Kind::CallStart:
                if (max_calls_ > 0 && calls_ >= max_calls_) {
                    dropped_call_ = e.id;
                    break;
                }
                close(out);
                content_.push_back({{"type", "tool_use"},
                                    {"id", e.id},
                                    {"name", e.name},
                                    {"input", nlohmann::ordered_json::object()}});
                open_ = Open::Tool;
                out += tool_use_block_start_event(index(), e.id, e.name);
                break;
            case Kind::ArgumentsDelta:
                if (open_ == Open::Tool) out += input_json_delta_event(index(), e.text);
                break;
            case Kind::CallEnd:
                if (open_ != Open::Tool) break;
                content_.back()["input"] = e.input;
                close(out);
                ++calls_;
                break;
            case Kind::CallFailed:
                if (open_ != Open::Tool) break;
                content_.back() = {{"type", "text"}, {"text", e.text}};
                close(out);
                break;
            case Kind::Text:
                break;
        }
    }
    return out;
}

std::string ReplyBlocks::feed(std::string_view piece) {
    if (!parser_) {
        std::string out;
        text(std::string(piece), out);
        return out;
    }
    return handle(parser_->feed(piece));
}

std::string ReplyBlocks::finish() {
    std::string out = parser_ ? handle(parser_->finish()) : std::string();
    close(out);
    if (content_.empty()) {
        content_.push_back({{"type", "text"}, {"text", ""}});
        out += text_block_start_event(0) + block_stop_event(0);
    }
    return out;
}

}  // namespace pensieve::api
