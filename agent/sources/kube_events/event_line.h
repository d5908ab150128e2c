// One Kubernetes Event as the log line Alloy's loki.source.kubernetes_events writes, so queries
// and dashboards built on Alloy's lines (`| logfmt | reason="BackOff"`) read skidder's the same.
//
// Pure functions, callable from any thread.
#pragma once

#include <rapidjson/document.h>

#include <cstdint>
#include <string>

#include "util/status.h"

namespace skidder::sources::kube_events {

enum class LineFormat { kLogfmt, kJson };

struct EventLine {
  std::string line;
  std::string namespace_name;   // of the involved object; "" for a cluster object (a Node)
  std::string event_namespace;  // of the Event itself (a Node's events are in "default")
  // When it happened, Unix microseconds: lastTimestamp, else eventTime (events.k8s.io/v1
  // writers), else series.lastObservedTime, firstTimestamp or metadata.creationTimestamp; 0 when
  // the event has none of them.
  int64_t time_us = 0;
  // When it was last seen to happen: the latest of lastTimestamp, series.lastObservedTime and
  // eventTime (a repeating event of an events.k8s.io/v1 writer keeps its eventTime and moves
  // series.lastObservedTime). What positions compare; 0 when it has none of them.
  int64_t seen_us = 0;
};

// The fields Alloy writes, in its order for logfmt (name, kind, action, objectAPIversion,
// objectRV, eventRV, reportinginstance, reportingcontroller, sourcecomponent, sourcehost, reason,
// type, count, then msg quoted as Go's %q, each followed by a space) and sorted by key as Go's
// encoding/json writes a map for json. Empty fields and a zero count are left out, as in Alloy.
// An event whose involvedObject has no name is refused (Alloy refuses it too).
Result<EventLine> FormatEvent(const rapidjson::Value& event, LineFormat format);

}  // namespace skidder::sources::kube_events
