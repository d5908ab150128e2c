// Events as the lines Alloy's loki.source.kubernetes_events writes (logfmt and json), so LogQL
// written for Alloy's lines reads skidder's the same.
#include "sources/kube_events/event_line.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <string>

namespace skidder::sources::kube_events {
namespace {

constexpr const char* kBackOff = R"({
  "kind": "Event", "apiVersion": "v1",
  "metadata": {"name": "web-1.17f2", "namespace": "shop", "resourceVersion": "8812",
               "creationTimestamp": "2026-12-06T03:59:00Z"},
  "involvedObject": {"kind": "Pod", "namespace": "shop", "name": "web-1", "apiVersion": "v1",
                     "resourceVersion": "8790", "fieldPath": "spec.containers{app}"},
  "reason": "BackOff", "message": "Back-off restarting failed container app in pod \"web-1\"",
  "source": {"component": "kubelet", "host": "node-1"},
  "firstTimestamp": "2026-12-06T03:59:00Z", "lastTimestamp": "2026-12-06T04:00:07Z",
  "count": 12, "type": "Warning", "eventTime": null,
  "reportingComponent": "kubelet", "reportingInstance": "node-1"
})";

rapidjson::Document Parse(const std::string& json) {
  rapidjson::Document doc;
  doc.Parse(json.c_str());
  EXPECT_FALSE(doc.HasParseError()) << json;
  return doc;
}

EventLine Format(const std::string& json, LineFormat f) {
  Result<EventLine> r = FormatEvent(Parse(json), f);
  EXPECT_TRUE(r.has_value()) << r.error().message();
  return r ? *r : EventLine{};
}

TEST(EventLine, LogfmtIsAlloysLine) {
  const EventLine e = Format(kBackOff, LineFormat::kLogfmt);
  // Alloy's order; values as Go's %s (unquoted), the message as %q, a space after each.
  EXPECT_EQ(e.line,
            "name=web-1 kind=Pod objectAPIversion=v1 objectRV=8790 eventRV=8812 "
            "reportinginstance=node-1 reportingcontroller=kubelet sourcecomponent=kubelet "
            "sourcehost=node-1 reason=BackOff type=Warning count=12 "
            "msg=\"Back-off restarting failed container app in pod \\\"web-1\\\"\" ");
  EXPECT_EQ(e.namespace_name, "shop");
  EXPECT_EQ(e.time_us, 1796529607000000);  // lastTimestamp
}

TEST(EventLine, JsonIsAGoMapMarshalled) {
  const EventLine e = Format(kBackOff, LineFormat::kJson);
  // Keys sorted byte-wise, count a number, strings as encoding/json writes them.
  EXPECT_EQ(e.line,
            R"({"count":12,"eventRV":"8812","kind":"Pod","msg":"Back-off restarting failed )"
            R"(container app in pod \"web-1\"","name":"web-1","objectAPIversion":"v1",)"
            R"("objectRV":"8790","reason":"BackOff","reportingcontroller":"kubelet",)"
            R"("reportinginstance":"node-1","sourcecomponent":"kubelet","sourcehost":"node-1",)"
            R"("type":"Warning"})");
}

TEST(EventLine, EmptyFieldsAndAZeroCountAreLeftOut) {
  const std::string json = R"({"metadata": {"name": "n1.1"},
      "involvedObject": {"kind": "Node", "name": "n1"}, "message": "", "count": 0,
      "eventTime": "2026-12-06T04:00:00.250000Z", "action": "Drain"})";
  EXPECT_EQ(Format(json, LineFormat::kLogfmt).line, "name=n1 kind=Node action=Drain msg=\"\" ");
  EXPECT_EQ(Format(json, LineFormat::kJson).line,
            R"({"action":"Drain","kind":"Node","msg":"","name":"n1"})");
  const EventLine e = Format(json, LineFormat::kLogfmt);
  EXPECT_EQ(e.namespace_name, "") << "a cluster object's event has no namespace label";
  EXPECT_EQ(e.time_us, 1796529600250000) << "eventTime, with its microseconds";
}

TEST(EventLine, MessagesAreQuotedAsGoQuotesThem) {
  const std::string json = R"({"involvedObject": {"name": "p"},
      "message": "line one\nline\ttwo \u0001\u0007 caf\u00e9\u200b <b>&"})";
  EXPECT_EQ(Format(json, LineFormat::kLogfmt).line,
            "name=p msg=\"line one\\nline\\ttwo \\x01\\a caf\xc3\xa9\\u200b <b>&\" ");
  EXPECT_EQ(Format(json, LineFormat::kJson).line,
            "{\"msg\":\"line one\\nline\\ttwo \\u0001\\u0007 caf\xc3\xa9\xe2\x80\x8b "
            "\\u003cb\\u003e\\u0026\",\"name\":\"p\"}");
}

TEST(EventLine, TimeFallsBackThroughTheEventsOtherTimes) {
  auto time_of = [](const std::string& fields) {
    return Format(R"({"involvedObject": {"name": "p"})" + fields + "}", LineFormat::kLogfmt)
        .time_us;
  };
  EXPECT_EQ(time_of(R"(, "series": {"lastObservedTime": "2026-12-06T04:00:01.000002Z"},
                       "firstTimestamp": "2026-12-06T03:00:00Z")"),
            1796529601000002);
  EXPECT_EQ(time_of(R"(, "lastTimestamp": null, "firstTimestamp": "2026-12-06T03:00:00Z")"),
            1796526000000000);
  EXPECT_EQ(time_of(R"(, "metadata": {"creationTimestamp": "2026-12-06T02:00:00Z"})"),
            1796522400000000);
  EXPECT_EQ(time_of(R"(, "lastTimestamp": "yesterday")"), 0);
}

// What positions compare: when the event was last seen to happen. A repeating event of an
// events.k8s.io/v1 writer keeps its eventTime (Alloy's time) and moves series.lastObservedTime.
TEST(EventLine, SeenIsTheLatestOfTheEventsTimes) {
  const EventLine e = Format(R"({"involvedObject": {"name": "p"},
      "eventTime": "2026-12-06T04:00:00.000001Z",
      "series": {"count": 4, "lastObservedTime": "2026-12-06T04:05:00.000002Z"},
      "firstTimestamp": "2026-12-06T05:00:00Z"})",
                             LineFormat::kLogfmt);
  EXPECT_EQ(e.time_us, 1796529600000001);
  EXPECT_EQ(e.seen_us, 1796529900000002);
  EXPECT_EQ(Format(R"({"involvedObject": {"name": "p"},
      "metadata": {"creationTimestamp": "2026-12-06T02:00:00Z"}})",
                   LineFormat::kLogfmt)
                .seen_us,
            1796522400000000);
}

TEST(EventLine, AnEventAboutNoObjectIsRefused) {
  for (const char* json : {R"({"message": "x"})", R"({"involvedObject": {"kind": "Pod"}})",
                           R"({"involvedObject": "web-1"})", R"([1, 2])"}) {
    Result<EventLine> r = FormatEvent(Parse(json), LineFormat::kLogfmt);
    EXPECT_FALSE(r.has_value()) << json;
  }
}

}  // namespace
}  // namespace skidder::sources::kube_events
