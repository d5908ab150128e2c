// Alloy's custom components (declare blocks) expanded into the built-in components they are
// made of.
//
// Alloy runs each instance of a declare as a module with a scope of its own. skidder, which
// maps the whole component graph onto one Promtail-shaped config at load, copies instead: each
// instance becomes a copy of its declare's components, their ids prefixed with the instance's
// ("pod_logs.feature/loki.process.pod_logs", as Alloy names them), their references to one
// another renamed to match, and `argument.NAME.value` replaced by the expression the instance
// gives (or the argument's default). The instance's exports are kept for Loader::Resolve, so
// `pod_logs.feature.NAME` reads as any component's export. Scoping is Alloy's: a declare's body
// sees its own components, its arguments and the declares of its own and enclosing bodies, never
// the components outside it.
#include <fmt/format.h>

#include <algorithm>

#include "config/alloy_internal.h"
#include "lang/alloy/lexer.h"

namespace skidder::config::alloy_internal {
namespace {

using lang::alloy::Expr;
using lang::alloy::ExprPtr;

// Custom components used inside custom components, this deep at most: a declare that uses
// itself (directly or through another) would otherwise expand forever.
constexpr int kMaxInstanceDepth = 16;

std::string Join(const std::vector<std::string>& parts, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out += (i ? "." : "") + parts[i];
  return out;
}

bool IsIdentifier(std::string_view s) {
  return !s.empty() && !std::isdigit(static_cast<unsigned char>(s[0])) &&
         std::ranges::all_of(
             s, [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
}

// `base.f1.f2...` for the parts from `from` on, written at pos.
ExprPtr WithFields(ExprPtr base, const std::vector<std::string>& parts, size_t from, Pos pos) {
  for (size_t i = from; i < parts.size(); ++i) {
    auto f = std::make_unique<Expr>();
    f->kind = Expr::Kind::kField;
    f->pos = pos;
    f->name = parts[i];
    f->depth = base->depth + 1;
    f->kids.push_back(std::move(base));
    base = std::move(f);
  }
  return base;
}

struct Scope;

struct Declare {
  const Block* block;
  const Scope* scope;  // where it was declared: its body sees that scope's declares
};

// One body being expanded: the top level, or a custom component instance.
struct Scope {
  const Scope* parent = nullptr;            // the enclosing body of the declare, for declares
  std::map<std::string, Declare> declares;  // declared in this body
  std::string prefix;                       // of the ids of its components; "" at the top
  std::string declare;                      // the declare instantiated, for messages; "" at the top
  std::set<std::string> local;              // ids of this body's components and instances
  std::map<std::string, ExprPtr> args;      // argument name -> expression (instances only)

  bool top() const { return declare.empty(); }
  const Declare* Find(const std::string& name) const {
    for (const Scope* s = this; s != nullptr; s = s->parent) {
      auto it = s->declares.find(name);
      if (it != s->declares.end()) return &it->second;
    }
    return nullptr;
  }
};

class Expander {
 public:
  Expander(const Loader& l, std::map<std::string, CustomInstance>* instances)
      : l_(l), instances_(*instances) {}

  // Appends to out the built-in components of body, instances expanded.
  Status Body(const std::vector<Block>& body, Scope* scope, int depth, std::vector<Block>* out) {
    for (const Block& b : body) {
      if (b.name != "declare") continue;
      if (!IsIdentifier(b.label)) {
        return l_.ErrorAt(b.pos,
                          "declare needs a label that names the custom component, e.g. "
                          "declare \"pod_logs\" { ... }");
      }
      if (!scope->declares.emplace(b.label, Declare{&b, scope}).second) {
        return l_.ErrorAt(b.pos, fmt::format("declare \"{}\" is defined twice", b.label));
      }
      // Checked here, so that a declare nothing instantiates yet has its definitions checked.
      if (Result<Definitions> d = ReadDefinitions(b); !d) return d.error();
    }
    for (const Block& b : body) {
      if (b.name != "declare" && b.name != "argument" && b.name != "export") {
        scope->local.insert(Id(b));
      }
    }
    for (const Block& b : body) {
      if (b.name == "declare") continue;
      if (b.name == "argument" || b.name == "export") {
        if (scope->top()) {
          return l_.ErrorAt(b.pos, fmt::format("{} blocks belong inside a declare block", b.name));
        }
        continue;  // read by Instantiate
      }
      if (!scope->top() && (b.name == "logging" || b.name == "http" || b.name == "livedebugging")) {
        return l_.ErrorAt(b.pos, fmt::format("the {} block belongs at the top level, not inside "
                                             "declare \"{}\"",
                                             b.name, scope->declare));
      }
      if (const Declare* d = scope->Find(b.name)) {
        if (Status s = Instantiate(b, *d, *scope, depth, out); !s.ok()) return s;
        continue;
      }
      Result<Block> copy = Copy(b, *scope);
      if (!copy) return copy.error();
      out->push_back(std::move(*copy));
    }
    return Status::Ok();
  }

 private:
  Status Instantiate(const Block& inst, const Declare& d, const Scope& scope, int depth,
                     std::vector<Block>* out) {
    const std::string& name = inst.name;
    if (inst.label.empty()) {
      return l_.ErrorAt(inst.pos,
                        fmt::format("{} needs a label, e.g. {} \"default\" {{ ... }}", name, name));
    }
    if (depth >= kMaxInstanceDepth) {
      return l_.ErrorAt(inst.pos, fmt::format("custom components nested more than {} deep (does "
                                              "declare \"{}\" use itself?)",
                                              kMaxInstanceDepth, name));
    }
    if (!inst.blocks.empty()) {
      return l_.ErrorAt(inst.blocks[0].pos,
                        fmt::format("block {} in {}: a custom component takes its arguments as "
                                    "attributes, not blocks",
                                    inst.blocks[0].name, name));
    }
    const std::string id = scope.prefix + name + "." + inst.label;
    if (instances_.contains(id)) {
      return l_.ErrorAt(inst.pos, fmt::format("{}.{} is defined twice", name, inst.label));
    }
    Scope inner;
    inner.parent = d.scope;
    inner.prefix = id + "/";
    inner.declare = name;
    Result<Definitions> defs = ReadDefinitions(*d.block);
    if (!defs) return defs.error();
    const auto& [declared, exports] = *defs;
    // The arguments: written at the instance, in the instance's scope.
    for (const Attribute& a : inst.attributes) {
      if (!declared.contains(a.name)) {
        return l_.ErrorAt(a.pos, fmt::format("{} has no argument {}{}", name,
                                             lang::alloy::Short(a.name), ArgumentList(declared)));
      }
      Result<ExprPtr> v = Rewrite(*a.value, scope);
      if (!v) return v.error();
      inner.args[a.name] = std::move(*v);
    }
    for (const auto& [arg, b] : declared) {
      if (inner.args.contains(arg)) continue;
      const Attribute* optional = b->Attr("optional");
      const bool is_optional = optional != nullptr && optional->value->value.boolean;
      if (!is_optional) {
        return l_.ErrorAt(inst.pos, fmt::format("{} \"{}\": argument {} is required (declared "
                                                "at {})",
                                                name, inst.label, arg, l_.Where(b->pos)));
      }
      inner.args[arg] = std::make_unique<Expr>();  // null, Alloy's value of an unset argument
      if (const Attribute* def = b->Attr("default")) {
        Result<ExprPtr> v = Rewrite(*def->value, inner);
        if (!v) return v.error();
        inner.args[arg] = std::move(*v);
      }
    }
    CustomInstance& instance = instances_[id];
    if (Status s = Body(d.block->blocks, &inner, depth + 1, out); !s.ok()) return s;
    for (const Block* e : exports) {
      Result<ExprPtr> v = Rewrite(*e->Attr("value")->value, inner);
      if (!v) return v.error();
      instance.exports[e->label] = std::move(*v);
    }
    return Status::Ok();
  }

  // A declare's argument blocks by name and its export blocks, checked.
  struct Definitions {
    std::map<std::string, const Block*> arguments;
    std::vector<const Block*> exports;
  };
  Result<Definitions> ReadDefinitions(const Block& declare) const {
    Definitions d;
    for (const Block& b : declare.blocks) {
      if (b.name != "argument" && b.name != "export") continue;
      if (Status s = CheckDefinition(b, d.arguments, d.exports); !s.ok()) return Err(std::move(s));
      if (b.name == "argument") {
        d.arguments[b.label] = &b;
      } else {
        d.exports.push_back(&b);
      }
    }
    return d;
  }

  // An argument or export block of a declare: a unique label, the attributes Alloy defines.
  Status CheckDefinition(const Block& b, const std::map<std::string, const Block*>& declared,
                         const std::vector<const Block*>& exports) const {
    const bool arg = b.name == "argument";
    if (!IsIdentifier(b.label)) {
      return l_.ErrorAt(b.pos, fmt::format("{} needs a label that names it, e.g. {} \"name\" {{ "
                                           "... }}",
                                           b.name, b.name));
    }
    const bool twice =
        arg ? declared.contains(b.label)
            : std::ranges::any_of(exports, [&](const Block* e) { return e->label == b.label; });
    if (twice) return l_.ErrorAt(b.pos, fmt::format("{} \"{}\" is defined twice", b.name, b.label));
    if (!b.blocks.empty()) {
      return l_.ErrorAt(b.blocks[0].pos, fmt::format("{} takes no blocks", b.name));
    }
    for (const Attribute& a : b.attributes) {
      const bool known = arg ? (a.name == "optional" || a.name == "default" || a.name == "comment")
                             : a.name == "value";
      if (!known) {
        return l_.ErrorAt(a.pos, fmt::format("{} has no attribute {} (it has {})", b.name,
                                             lang::alloy::Short(a.name),
                                             arg ? "optional, default and comment" : "value"));
      }
      if (a.name == "optional" && (a.value->kind != Expr::Kind::kLiteral ||
                                   a.value->value.kind != lang::alloy::Value::Kind::kBool)) {
        return l_.ErrorAt(a.pos, "optional must be true or false");
      }
    }
    if (!arg && b.Attr("value") == nullptr) {
      return l_.ErrorAt(b.pos, fmt::format("export \"{}\": value is required", b.label));
    }
    return Status::Ok();
  }

  static std::string ArgumentList(const std::map<std::string, const Block*>& declared) {
    if (declared.empty()) return " (it declares none)";
    std::string names;
    for (const auto& [n, b] : declared) names += (names.empty() ? "" : ", ") + n;
    return fmt::format(" (its arguments: {})", names);
  }

  // A block of scope's body with its references renamed into the instance.
  Result<Block> Copy(const Block& b, const Scope& scope) {
    Block out{.name = b.name,
              .label = b.label,
              .pos = b.pos,
              .attributes = {},
              .blocks = {},
              .scope = scope.prefix};
    for (const Attribute& a : b.attributes) {
      Result<ExprPtr> v = Rewrite(*a.value, scope);
      if (!v) return Err(v.error());
      out.attributes.push_back({a.name, a.pos, std::move(*v)});
    }
    for (const Block& nb : b.blocks) {
      Result<Block> n = Copy(nb, scope);
      if (!n) return n;
      out.blocks.push_back(std::move(*n));
    }
    return out;
  }

  // e with references into the instance renamed and arguments substituted; at the top level,
  // e as written (Loader::Resolve reads it there).
  Result<ExprPtr> Rewrite(const Expr& e, const Scope& scope) {
    if (scope.top()) return lang::alloy::Clone(e);
    std::vector<std::string> parts;
    if (e.kind != Expr::Kind::kCall && lang::alloy::DottedParts(e, &parts)) {
      return Reference(e, parts, scope);
    }
    auto out = std::make_unique<Expr>();
    out->kind = e.kind;
    out->pos = e.pos;
    out->value = e.value;
    out->name = e.name;
    out->keys = e.keys;
    int height = 0;
    for (size_t i = 0; i < e.kids.size(); ++i) {
      // A call's callee is a function's name, never a component's.
      Result<ExprPtr> k = (e.kind == Expr::Kind::kCall && i == 0) ? lang::alloy::Clone(*e.kids[0])
                                                                  : Rewrite(*e.kids[i], scope);
      if (!k) return k;
      height = std::max(height, (*k)->depth);
      out->kids.push_back(std::move(*k));
    }
    out->depth = height + 1;
    // Arguments substituted into arguments of nested instances make deeper trees than the
    // parser allows; the evaluator's recursion follows them, so they stay bounded too.
    if (out->depth > 2 * lang::alloy::kMaxDepth) {
      return Err(l_.ErrorAt(e.pos, "expression nested too deeply once arguments are substituted"));
    }
    return out;
  }

  Result<ExprPtr> Reference(const Expr& e, const std::vector<std::string>& parts,
                            const Scope& scope) {
    if (parts[0] == "constants") return lang::alloy::Clone(e);
    if (parts[0] == "argument") {
      auto it =
          parts.size() >= 3 && parts[2] == "value" ? scope.args.find(parts[1]) : scope.args.end();
      if (parts.size() < 3 || parts[2] != "value") {
        return Err(l_.ErrorAt(e.pos, "an argument is read as argument.NAME.value"));
      }
      if (it == scope.args.end()) {
        return Err(l_.ErrorAt(e.pos, fmt::format("declare \"{}\" has no argument {}", scope.declare,
                                                 lang::alloy::Short(parts[1]))));
      }
      return WithFields(lang::alloy::Clone(*it->second), parts, 3, e.pos);
    }
    for (size_t n = parts.size(); n >= 1; --n) {
      const std::string id = Join(parts, n);
      if (!scope.local.contains(id)) continue;
      auto ident = std::make_unique<Expr>();
      ident->kind = Expr::Kind::kIdent;
      ident->pos = e.pos;
      ident->name = scope.prefix + id;
      return WithFields(std::move(ident), parts, n, e.pos);
    }
    return Err(l_.ErrorAt(
        e.pos, fmt::format("unknown reference {}: inside declare \"{}\" only its own components, "
                           "argument.NAME.value and constants can be referenced",
                           lang::alloy::Short(Join(parts, parts.size())), scope.declare)));
  }

  const Loader& l_;
  std::map<std::string, CustomInstance>& instances_;
};

}  // namespace

Status Loader::ExpandCustomComponents() {
  const bool any = std::ranges::any_of(ast_.blocks, [](const Block& b) {
    return b.name == "declare" || b.name == "argument" || b.name == "export";
  });
  if (!any) return Status::Ok();
  Scope top;
  std::vector<Block> out;
  if (Status s = Expander(*this, &instances_).Body(ast_.blocks, &top, 0, &out); !s.ok()) return s;
  ast_.blocks = std::move(out);
  return Status::Ok();
}

}  // namespace skidder::config::alloy_internal
