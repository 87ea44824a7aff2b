// `pensieve tokenize --model FILE [--ids-only] [--parse-special] TEXT`: the
// token ids (and pieces) of a text, for debugging and for comparing with
// other tools. Reads only the model's vocabulary metadata.
#include <cstdio>
#include <memory>
#include <string>

#include "cli/commands.hpp"
#include "tokenizer/error.hpp"
#include "tokenizer/tokenizer.hpp"

namespace pensieve::cli {
namespace {

struct TokenizeOptions {
    std::string model;
    std::string text;
    bool ids_only = false;
    bool parse_special = false;
    bool add_bos = false;
};

// The piece as a readable, unambiguous string: C-style escapes for control
// bytes, quotes and backslashes; other bytes (UTF-8 included) as they are.
std::string escape(const std::string& s) {
    std::string out;
    for (const char c : s) {
        const auto b = static_cast<unsigned char>(c);
        if (c == '\n')
            out += "\\n";
        else if (c == '\t')
            out += "\\t";
        else if (c == '\r')
            out += "\\r";
        else if (c == '"' || c == '\\')
            out += std::string("\\") + c;
        else if (b < 0x20 || b == 0x7F) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02X", b);
            out += buf;
        } else {
            out += c;
        }
    }
    return out;
}

void run_tokenize(const TokenizeOptions& o) {
    try {
        const tokenizer::Tokenizer tok = tokenizer::Tokenizer::from_file(o.model);
        const auto specials =
            o.parse_special ? tokenizer::Specials::Parse : tokenizer::Specials::AsText;
        const std::vector<tokenizer::TokenId> ids =
            tok.encode(o.text, specials, {.add_bos = o.add_bos, .add_eos = false});
        if (o.ids_only) {
            for (size_t i = 0; i < ids.size(); ++i) std::printf(i ? " %d" : "%d", ids[i]);
            std::printf("\n");
            return;
        }
        for (const tokenizer::TokenId id : ids) {
            std::printf("%6d  \"%s\"  %s\n", id, escape(tok.token_bytes(id, true)).c_str(),
                        std::string(tok.token_text(id)).c_str());
        }
        std::printf("%zu tokens\n", ids.size());
    } catch (const tokenizer::Error& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        set_exit_code(1);
    }
}

}  // namespace

void register_tokenize(CLI::App& app) {
    auto opts = std::make_shared<TokenizeOptions>();
    CLI::App* cmd = app.add_subcommand("tokenize", "Show the token ids of a text");
    cmd->add_option("--model", opts->model, "GGUF model file")->required();
    cmd->add_option("text", opts->text, "Text to tokenize")->required();
    cmd->add_flag("--ids-only", opts->ids_only, "Print only the ids, space-separated");
    cmd->add_flag("--parse-special", opts->parse_special,
                  "Turn control-token text (e.g. <|im_start|>) into control tokens");
    cmd->add_flag("--add-bos", opts->add_bos, "Prepend BOS if the model asks for it");
    cmd->callback([opts] { run_tokenize(*opts); });
}

}  // namespace pensieve::cli
