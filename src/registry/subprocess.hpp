// Running a child program (pip) and waiting for it, without a shell.
#pragma once

#include <string>
#include <vector>

namespace pensieve::registry {

// Runs argv[0] (searched in PATH) with the given arguments, inheriting
// stdin/stdout/stderr. Returns its exit status, or 127 when it cannot start
// and 128+signal when killed by a signal.
int run_program(const std::vector<std::string>& argv);

}  // namespace pensieve::registry
