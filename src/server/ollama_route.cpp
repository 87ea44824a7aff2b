// The Ollama dialect: requests are translated into the normalised
// conversation (api/ollama_request.hpp) and run by the shared generation
// path; this file supplies only the reply objects, the NDJSON lines and
// errors in a stream. While the engine is silent a stream sends a space:
// JSON readers skip the whitespace before the next object.
#include "server/ollama_route.hpp"

#include "api/json_body.hpp"
#include "api/ollama_request.hpp"
#include "api/ollama_response.hpp"
#include "server/access_log.hpp"
#include "server/responses.hpp"

namespace pensieve::server {

namespace {

class OllamaDialect : public Dialect {
  public:
    explicit OllamaDialect(api::OllamaReply reply) : reply_(std::move(reply)) {}

    std::shared_ptr<api::BlockFraming> framing() override { return api::ollama_framing(reply_); }
    std::string stream_start(const api::Usage&) override { return " "; }
    std::string ping() override { return " "; }
    std::string stream_end(const Outcome& o) override {
        return api::ollama_stream_end(reply_, o.stop_reason, o.usage,
                                      {o.prefill_seconds, o.decode_seconds});
    }
    std::string stream_error(const std::string&, const std::string& message) override {
        return api::ndjson_line(api::ollama_error_body(message));
    }
    nlohmann::ordered_json whole(const nlohmann::ordered_json& content, const Outcome& o) override {
        return api::ollama_reply_json(reply_, content, o.stop_reason, o.usage,
                                      {o.prefill_seconds, o.decode_seconds});
    }
    std::string stream_content_type() const override { return "application/x-ndjson"; }

  private:
    api::OllamaReply reply_;
};

void run(const Request& req, Response& res, const RouteContext& ctx, const api::OllamaRequest& r,
         api::OllamaReply::Kind kind) {
    // Ollama would size a context of num_ctx tokens (clamped to the
    // model's trained length); this server's context is fixed at startup,
    // so a client asking for more than it is told so rather than having
    // its long prompts refused later.
    if (r.num_ctx > ctx.serving.n_ctx) {
        throw api::invalid_request("options.num_ctx: " + std::to_string(r.num_ctx) +
                                   " tokens exceeds this server's context of " +
                                   std::to_string(ctx.serving.n_ctx) +
                                   " (set with pensieve serve --ctx)");
    }
    const api::OllamaReply reply{kind, r.core.model};
    if (r.load_only) {  // the model is always loaded
        current_request().model = r.core.model;
        if (r.core.stream) {
            res.status = 200;
            res.set_content(api::ndjson_line(api::ollama_load_json(reply)), "application/x-ndjson");
            return;
        }
        send_json(res, 200, api::ollama_load_json(reply));
        return;
    }
    generate(req, res, ctx, r.core, std::make_unique<OllamaDialect>(reply));
}

api::OllamaModelFacts facts(const Serving& serving) {
    return {serving.model, serving.info.model_bytes, serving.prompt.model_template().architecture};
}

}  // namespace

void handle_ollama_chat(const Request& req, Response& res, const RouteContext& ctx) {
    run(req, res, ctx, api::parse_ollama_chat_request(req.body), api::OllamaReply::Kind::Chat);
}

void handle_ollama_generate(const Request& req, Response& res, const RouteContext& ctx) {
    run(req, res, ctx, api::parse_ollama_generate_request(req.body),
        api::OllamaReply::Kind::Generate);
}

void handle_ollama_tags(Response& res, const Serving& serving) {
    send_json(res, 200, api::ollama_tags_json(facts(serving)));
}

void handle_ollama_ps(Response& res, const Serving& serving) {
    send_json(res, 200, api::ollama_ps_json(facts(serving)));
}

void handle_ollama_show(const Request& req, Response& res, const Serving& serving) {
    const nlohmann::ordered_json body = api::parse_json_body(req.body, {});
    if (!body.is_object()) throw api::invalid_request("request body must be a JSON object");
    std::string name;
    for (const char* key : {"model", "name"}) {
        const auto it = body.find(key);
        if (it != body.end() && it->is_string()) {
            name = it->get<std::string>();
            break;
        }
    }
    if (name.empty()) throw api::invalid_request("model: Field required");
    const std::string& id = serving.model.id;
    if (name != id && name != id + ":latest") {
        send_error(res, 404, "not_found_error", "model '" + name.substr(0, 256) + "' not found");
        return;
    }
    send_json(res, 200, api::ollama_show_json(facts(serving), true));
}

void handle_ollama_version(Response& res, const Serving& serving) {
    send_json(res, 200, nlohmann::ordered_json{{"version", serving.info.version}});
}

}  // namespace pensieve::server
