// Generated text -> the content blocks of one Message: a thinking block (the
// model's <think>...</think> reasoning at the start of the reply), text blocks
// and tool_use blocks (calls read out of the text by chat::ToolCallParser),
// with contiguous indices, one block open at a time. A thinking block ends
// with an empty signature_delta (the signature is opaque, and clients render
// thinking only once one arrives). The same object gives the SSE
// events as the text streams in and the final `content` array, so a streamed
// reply and a whole one carry the same blocks. The blocks are dialect-neutral;
// a BlockFraming writes their stream events in one dialect's wire format
// (Anthropic SSE events by default, OpenAI chunks in openai_response.hpp).
//
// A call that breaks after it was announced, when the model broke its JSON
// (possible only without the grammar), has had its tool_use block started on
// a stream; that block is closed as it stands, and the `content` array holds
// the call's raw text as a text block instead. A call cut off by max_tokens
// is never shown as text (see finish).
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "chat/tools/tool_call_parser.hpp"

namespace pensieve::api {

// How a stream's block events are written: each dialect supplies one. The
// index is the block's position in the reply (text, thinking and tool_use
// blocks counted together).
class BlockFraming {
  public:
    virtual ~BlockFraming() = default;
    virtual std::string text_start(int index) = 0;
    virtual std::string text_delta(int index, const std::string& text) = 0;
    virtual std::string thinking_start(int index) = 0;
    virtual std::string thinking_delta(int index, const std::string& thinking) = 0;
    virtual std::string thinking_end(int index) = 0;  // before its block_stop
    virtual std::string tool_start(int index, const std::string& id, const std::string& name) = 0;
    // A piece of the call's arguments; the pieces concatenate to its JSON.
    virtual std::string tool_delta(int index, const std::string& partial_json) = 0;
    virtual std::string block_stop(int index) = 0;
};

class ReplyBlocks {
  public:
    struct Options {
        // Calls are read out of the text in this syntax (null: all text).
        std::optional<chat::ToolCallSyntax> syntax;
        std::vector<std::string> tool_names;  // the tools the model may call
        int max_calls = 0;                    // calls kept (later ones are dropped); 0: all
        // The model may open its reply with <think>...</think>; or the prompt
        // already opened it, so the reply starts inside the reasoning.
        bool thinking = false;
        bool starts_in_thinking = false;
        std::shared_ptr<BlockFraming> framing;  // null: Anthropic SSE events
    };
    explicit ReplyBlocks(Options options);

    // The SSE events for one piece of generated text (often none while a
    // call's opener may be starting).
    std::string feed(std::string_view text);
    // The SSE events that end the reply's blocks: held-back text, an
    // unfinished call, and an empty text block when there was no block.
    // `inside_call`: the reply was cut off inside a call, whose text is then
    // dropped rather than shown (a started tool_use block on a stream is
    // closed as it stands; `content` leaves the call out).
    std::string finish(bool inside_call = false);

    const nlohmann::ordered_json& content() const { return content_; }
    int tool_calls() const { return calls_; }
    // A call cut off by the end of the reply had its tool_use block started
    // on the stream (which `content` leaves out): a streamed reply then ends
    // with a block that is not a whole call.
    bool cut_call_started() const { return cut_call_started_; }

  private:
    std::string handle(const std::vector<chat::ToolCallEvent>& events,
                       bool drop_unfinished = false);
    void after_thinking(std::string_view text, std::string& out);  // text, tools
    void thinking_text(const std::string& piece, std::string& out);
    void close(std::string& out);
    void text(const std::string& piece, std::string& out);
    int index() const { return started_ - 1; }  // the stream's open (or last) block

    enum class Open { None, Text, Tool, Thinking };
    // Where the reply's text goes: not yet known whether it opens with
    // <think>, inside the reasoning, whitespace after it, or the rest.
    enum class Stage { Undecided, Thinking, AfterThinking, Rest };
    Stage stage_ = Stage::Rest;
    std::string held_;  // Undecided / Thinking: bytes that may start a marker
    std::shared_ptr<BlockFraming> framing_;
    std::optional<chat::ToolCallParser> parser_;
    int max_calls_;
    nlohmann::ordered_json content_ = nlohmann::ordered_json::array();
    Open open_ = Open::None;
    int calls_ = 0;
    bool cut_call_started_ = false;
    int started_ = 0;           // blocks started on the stream (content_ may have dropped one)
    std::string dropped_call_;  // id of a call dropped because only one is allowed
};

}  // namespace pensieve::api
