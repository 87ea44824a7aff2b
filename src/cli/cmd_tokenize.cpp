// `pensieve tokenize --model FILE [--ids-only] [--parse-special] TEXT`: the
// token ids (and pieces) of a text, for debugging and for comparing with
// other tools. Reads only the model's vocabulary metadata. --batch serves
// the reference tests (tests/reference/tokenizer/).
#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>
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
    bool batch = false;
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

std::optional<std::string> from_hex(const std::string& line) {
    if (line.size() % 2 != 0) return std::nullopt;
    std::string out;
    for (size_t i = 0; i < line.size(); i += 2) {
        unsigned v = 0;
        if (std::sscanf(line.c_str() + i, "%2x", &v) != 1) return std::nullopt;
        out.push_back(static_cast<char>(v));
    }
    return out;
}

// --batch: one hex-encoded text per stdin line (any bytes, invalid UTF-8
// included), one line of ids per text on stdout. For reference tests.
void run_batch(const tokenizer::Tokenizer& tok, tokenizer::Specials specials, bool add_bos) {
    std::string line;
    while (std::getline(std::cin, line)) {
        const auto text = from_hex(line);
        if (!text) {
            std::fprintf(stderr, "error: stdin line is not hex\n");
            set_exit_code(1);
            return;
        }
        const auto ids = tok.encode(*text, specials, {.add_bos = add_bos, .add_eos = false});
        std::string out;
        for (size_t i = 0; i < ids.size(); ++i) out += (i ? " " : "") + std::to_string(ids[i]);
        std::printf("%s\n", out.c_str());
    }
}

void run_tokenize(const TokenizeOptions& o) {
    try {
        const tokenizer::Tokenizer tok = tokenizer::Tokenizer::from_file(o.model);
        const auto specials =
            o.parse_special ? tokenizer::Specials::Parse : tokenizer::Specials::AsText;
        if (o.batch) {
            run_batch(tok, specials, o.add_bos);
            return;
        }
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
    cmd->add_option("text", opts->text, "Text to tokenize");
    cmd->add_flag("--batch", opts->batch,
                  "Read hex-encoded texts from stdin, one per line; print one line of ids each");
    cmd->add_flag("--ids-only", opts->ids_only, "Print only the ids, space-separated");
    cmd->add_flag("--parse-special", opts->parse_special,
                  "Turn control-token text (e.g. <|im_start|>) into control tokens");
    cmd->add_flag("--add-bos", opts->add_bos, "Prepend BOS if the model asks for it");
    cmd->callback([opts, cmd] {
        if (!opts->batch && cmd->count("text") == 0) {
            throw CLI::RequiredError("text (or --batch)");
        }
        run_tokenize(*opts);
    });
}

}  // namespace pensieve::cli
