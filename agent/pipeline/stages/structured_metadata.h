// The structured_metadata stage: like the labels stage, but the values go into the entry's
// structured metadata (Loki 3 per-entry metadata, not indexed), like Promtail's stage.
//
// Body: a mapping of metadata name -> extracted key (empty = the same name). The value is the
// extracted value, else the stream label of that name; a stream label used this way is moved:
// removed from the stream labels, so high-cardinality values (pod uid, run id) do not create
// streams. A missing key or an empty value (e.g. an optional regex group that did not match) is
// skipped, as an empty label value means "no label"; a name already present is replaced, not
// duplicated; values that are not valid UTF-8 are skipped. Owned by one Pipeline; called from its
// thread only.
//
// structured_metadata_drop (Alloy's stage.structured_metadata_drop; Promtail has none): removes
// the listed names from the entry's structured metadata. Body: a list of names.
//
// structured_metadata_regex (Alloy's stage.structured_metadata_regex): moves every stream label
// whose name matches `regex` (Go syntax, anywhere in the name, as Go's MatchString) into the
// structured metadata. skidder's internal `__` labels (`__path__`, `__tenant_id__`) never move:
// Alloy's entries carry none of them at this point but a tenant a stage set.
#pragma once

#include <memory>
#include <string>

#include "config/config.h"
#include "pipeline/pipeline.h"
#include "pipeline/stage.h"
#include "util/status.h"

namespace skidder::pipeline::stages {

Result<std::unique_ptr<Stage>> NewStructuredMetadataStage(const config::StageConfig& cfg,
                                                          const StageContext& ctx,
                                                          const std::string& path);

Result<std::unique_ptr<Stage>> NewStructuredMetadataDropStage(const config::StageConfig& cfg,
                                                              const StageContext& ctx,
                                                              const std::string& path);

Result<std::unique_ptr<Stage>> NewStructuredMetadataRegexStage(const config::StageConfig& cfg,
                                                               const StageContext& ctx,
                                                               const std::string& path);

}  // namespace skidder::pipeline::stages
