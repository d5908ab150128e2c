#include "lang/go/logql_pattern.h"

#include <fmt/format.h>

#include <set>
#include <utility>

namespace skidder::lang::go {
namespace {

// A capture's name: a letter or '_', then letters, digits and '_' (ASCII only, as Loki's lexer).
bool IsNameStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsNameByte(char c) { return IsNameStart(c) || (c >= '0' && c <= '9'); }

// The length of the capture `<name>` at text[i], or 0 when text[i] does not start one.
size_t CaptureAt(std::string_view text, size_t i) {
  if (text[i] != '<' || i + 1 >= text.size()) return 0;
  if (!IsNameStart(text[i + 1])) return 0;
  size_t j = i + 2;
  while (j < text.size() && IsNameByte(text[j])) ++j;
  return j < text.size() && text[j] == '>' ? j + 1 - i : 0;
}

}  // namespace

Result<LinePattern> LinePattern::Parse(std::string_view text) {
  if (text.empty()) return Err(InvalidArgument("pattern is required"));
  LinePattern p;
  std::set<std::string, std::less<>> seen;
  size_t capture_start = 0;                     // the previous capture's place
  size_t capture_end = std::string_view::npos;  // where it ended
  for (size_t i = 0; i < text.size();) {
    if (const size_t n = CaptureAt(text, i); n > 0) {
      if (capture_end == i) {
        // As Loki refuses them (its older releases checked only some positions and panicked
        // matching the others).
        return Err(InvalidArgument(fmt::format(
            "consecutive captures {}{} at byte {}: a literal must separate them",
            text.substr(capture_start, i - capture_start), text.substr(i, n), capture_start)));
      }
      Node node{.capture = true, .named = false, .text = std::string(text.substr(i + 1, n - 2))};
      node.named = node.text != "_";
      if (node.named) {
        if (!seen.insert(node.text).second) {
          return Err(
              InvalidArgument(fmt::format("duplicate capture name <{}> at byte {}", node.text, i)));
        }
        p.names_.push_back(node.text);
      }
      p.nodes_.push_back(std::move(node));
      capture_start = i;
      i += n;
      capture_end = i;
      continue;
    }
    if (p.nodes_.empty() || p.nodes_.back().capture) p.nodes_.push_back(Node{});
    p.nodes_.back().text.push_back(text[i]);
    ++i;
  }
  if (p.names_.empty()) {
    return Err(
        InvalidArgument("at least one named capture (<name>) is required; <_> only skips text"));
  }
  return p;
}

size_t LinePattern::Match(std::string_view in, std::vector<std::string_view>* values) const {
  values->clear();
  if (in.empty() || nodes_.empty()) return 0;
  size_t i = 0;
  if (!nodes_[0].capture) {
    if (!in.starts_with(nodes_[0].text)) return 0;
    in.remove_prefix(nodes_[0].text.size());
    ++i;
  }
  // From here on: capture, literal, capture, ... with perhaps a literal at the end.
  for (; i < nodes_.size(); i += 2) {
    const Node& capture = nodes_[i];
    if (i + 1 == nodes_.size()) {  // the pattern ends on a capture: it takes the rest
      if (capture.named) values->push_back(in);
      break;
    }
    const std::string& literal = nodes_[i + 1].text;
    const size_t at = in.find(literal);
    if (at == std::string_view::npos) {  // as in Loki: the capture takes the rest, and stops
      if (capture.named) values->push_back(in);
      break;
    }
    if (capture.named) values->push_back(in.substr(0, at));
    in.remove_prefix(at + literal.size());
  }
  return values->size();
}

}  // namespace skidder::lang::go
