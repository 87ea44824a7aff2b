// The OpenAI dialect: the request is translated into the normalised
// conversation (api/openai_request.hpp) and run by the shared generation
// path; this file supplies only the chat.completion / text_completion object,
// the `data:` chunks ending with `data: [DONE]`, and errors in a stream.
// Pings are SSE comments, which OpenAI clients skip.
#include "server/openai_route.hpp"

#include "api/openai_request.hpp"
#include "api/openai_response.hpp"

namespace pensieve::server {

namespace {

class OpenAiDialect : public Dialect {
  public:
    explicit OpenAiDialect(api::OpenAiReply reply) : reply_(std::move(reply)) {}

    std::shared_ptr<api::BlockFraming> framing() override { return api::openai_framing(reply_); }
    std::string stream_start(const api::Usage&) override {
        return api::openai_stream_start(reply_);
    }
    std::string ping() override { return ": ping\n\n"; }
    std::string stream_end(const Outcome& o) override {
        std::string out = api::openai_stream_finish(reply_, o.stop_reason);
        if (reply_.include_usage) out += api::openai_stream_usage(reply_, o.usage);
        return out + api::openai_stream_done();
    }
    std::string stream_error(const std::string& type, const std::string& message) override {
        return api::openai_stream_error(type, message);
    }
    nlohmann::ordered_json whole(const nlohmann::ordered_json& content, const Outcome& o) override {
        return api::openai_reply_json(reply_, content, o.stop_reason, o.usage);
    }

  private:
    api::OpenAiReply reply_;
};

void run(const Request& req, Response& res, const RouteContext& ctx, const api::OpenAiRequest& r,
         api::OpenAiReply::Kind kind) {
    generate(req, res, ctx, ctx.models.acquire(r.core.model), r.core,
             std::make_unique<OpenAiDialect>(
                 api::new_openai_reply(kind, r.core.model, r.core.stream && r.include_usage)));
}

}  // namespace

void handle_chat_completions(const Request& req, Response& res, const RouteContext& ctx) {
    run(req, res, ctx, api::parse_chat_completions_request(req.body), api::OpenAiReply::Kind::Chat);
}

void handle_completions(const Request& req, Response& res, const RouteContext& ctx) {
    run(req, res, ctx, api::parse_completions_request(req.body),
        api::OpenAiReply::Kind::Completion);
}

}  // namespace pensieve::server
