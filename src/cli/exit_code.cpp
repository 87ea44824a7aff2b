// The process exit code chosen by the subcommand that ran.
#include "cli/commands.hpp"

namespace pensieve::cli {
namespace {
int g_exit_code = 0;
}
void set_exit_code(int code) {
    g_exit_code = code;
}
int exit_code() {
    return g_exit_code;
}
}  // namespace pensieve::cli
