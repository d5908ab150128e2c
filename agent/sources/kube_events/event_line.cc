#include "sources/kube_events/event_line.h"

#include <fmt/format.h>

#include <algorithm>
#include <string_view>
#include <utility>
#include <vector>

#include "formats/timestamp.h"
#include "kubernetes/pod_json.h"
#include "lang/go/go_json.h"
#include "lang/go/go_quote.h"

namespace skidder::sources::kube_events {
namespace {

using kubernetes::JsonObject;
using kubernetes::JsonString;

int64_t TimeUs(std::string_view text) {
  int64_t ns = 0;
  const char* why = nullptr;
  if (text.empty() || !formats::ParseRfc3339Nano(text, &ns, &why)) return 0;
  return ns / 1000;
}

// Alloy's time (lastTimestamp, else eventTime), then the event's other times.
void EventTimes(const rapidjson::Value& event, EventLine* out) {
  const rapidjson::Value* series = JsonObject(event, "series");
  const rapidjson::Value* meta = JsonObject(event, "metadata");
  const int64_t last = TimeUs(JsonString(event, "lastTimestamp"));
  const int64_t event_time = TimeUs(JsonString(event, "eventTime"));
  const int64_t observed = series ? TimeUs(JsonString(*series, "lastObservedTime")) : 0;
  for (int64_t us : {last, event_time, observed, TimeUs(JsonString(event, "firstTimestamp")),
                     meta ? TimeUs(JsonString(*meta, "creationTimestamp")) : 0}) {
    if (us != 0) {
      out->time_us = us;
      break;
    }
  }
  out->seen_us = std::max({last, event_time, observed});
  if (out->seen_us == 0) out->seen_us = out->time_us;
}

int64_t Count(const rapidjson::Value& event) {
  auto it = event.FindMember("count");
  return it != event.MemberEnd() && it->value.IsInt64() ? it->value.GetInt64() : 0;
}

}  // namespace

Result<EventLine> FormatEvent(const rapidjson::Value& event, LineFormat format) {
  if (!event.IsObject()) return Err(InvalidArgument("event is not an object"));
  const rapidjson::Value* obj = JsonObject(event, "involvedObject");
  const std::string_view name = obj ? JsonString(*obj, "name") : "";
  if (name.empty()) return Err(InvalidArgument("no involved object for event"));
  const rapidjson::Value* meta = JsonObject(event, "metadata");
  const rapidjson::Value* source = JsonObject(event, "source");
  EventLine out;
  out.namespace_name = JsonString(*obj, "namespace");
  if (meta != nullptr) out.event_namespace = JsonString(*meta, "namespace");
  EventTimes(event, &out);

  // Alloy's order; "" = left out. count and msg follow.
  const std::pair<std::string_view, std::string_view> fields[] = {
      {"name", name},
      {"kind", JsonString(*obj, "kind")},
      {"action", JsonString(event, "action")},
      {"objectAPIversion", JsonString(*obj, "apiVersion")},
      {"objectRV", JsonString(*obj, "resourceVersion")},
      {"eventRV", meta ? JsonString(*meta, "resourceVersion") : ""},
      {"reportinginstance", JsonString(event, "reportingInstance")},
      {"reportingcontroller", JsonString(event, "reportingComponent")},
      {"sourcecomponent", source ? JsonString(*source, "component") : ""},
      {"sourcehost", source ? JsonString(*source, "host") : ""},
      {"reason", JsonString(event, "reason")},
      {"type", JsonString(event, "type")},
  };
  const int64_t count = Count(event);
  const std::string_view message = JsonString(event, "message");
  std::string& line = out.line;
  if (format == LineFormat::kLogfmt) {
    // As Go's fmt writes them: values as they are (%s), the message quoted (%q), each field
    // followed by one space, the last too.
    for (const auto& [key, value] : fields) {
      if (!value.empty()) fmt::format_to(std::back_inserter(line), "{}={} ", key, value);
    }
    if (count != 0) fmt::format_to(std::back_inserter(line), "count={} ", count);
    line += "msg=";
    lang::go::AppendGoQuoted(message, '"', &line);
    line += ' ';
    return out;
  }
  // json: a Go map marshalled, so the keys are sorted (byte order) and strings HTML-escaped.
  std::vector<std::pair<std::string_view, std::string_view>> present;
  for (const auto& f : fields) {
    if (!f.second.empty()) present.push_back(f);
  }
  present.emplace_back("msg", message);
  const std::string count_text = std::to_string(count);
  if (count != 0) present.emplace_back("count", count_text);
  std::ranges::sort(present);
  line += '{';
  for (const auto& [key, value] : present) {
    if (line.size() > 1) line += ',';
    lang::go::AppendGoJsonString(key, &line);
    line += ':';
    if (key == "count") {
      line += value;  // a number
    } else {
      lang::go::AppendGoJsonString(value, &line);
    }
  }
  line += '}';
  return out;
}

}  // namespace skidder::sources::kube_events
