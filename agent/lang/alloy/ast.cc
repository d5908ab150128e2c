// Tree helpers declared in ast.h.
#include "lang/alloy/ast.h"

namespace skidder::lang::alloy {

ExprPtr CloneNode(const Expr& e) {
  auto out = std::make_unique<Expr>();
  out->kind = e.kind;
  out->pos = e.pos;
  out->value = e.value;
  out->name = e.name;
  out->keys = e.keys;
  out->depth = e.depth;
  return out;
}

ExprPtr Clone(const Expr& e) {
  ExprPtr out = CloneNode(e);
  for (const ExprPtr& k : e.kids) out->kids.push_back(Clone(*k));
  return out;
}

}  // namespace skidder::lang::alloy
