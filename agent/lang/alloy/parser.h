// Parse(): Alloy configuration text -> File (ast.h). Pure: no I/O, nothing evaluated.
//
// Errors read "file:line:column: message (at "excerpt")". Nesting of blocks and the height of
// expressions are bounded (kMaxDepth), so hostile input cannot exhaust the stack here or in
// the evaluator that walks the tree.
#pragma once

#include <string>
#include <string_view>

#include "lang/alloy/ast.h"
#include "util/status.h"

namespace skidder::lang::alloy {

inline constexpr int kMaxDepth = 100;

Result<File> Parse(std::string_view text, const std::string& file);

}  // namespace skidder::lang::alloy
