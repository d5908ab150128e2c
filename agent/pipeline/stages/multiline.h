// The multiline stage: joins the lines of one block (a stack trace, a traceback) into one entry,
// like Promtail's multiline stage.
//
// A line matching `firstline` (RE2) starts a block; lines that do not match are appended to the
// block of their stream with "\n". As in Promtail, a stream's lines pass through one by one until
// its first firstline (a job whose pods' lines never match is not glued together). Streams are the
// entries' label sets (so two files, or stdout and stderr, never mix). A block is sent when the
// next firstline arrives, when it reaches `max_lines` (default 128), or from Flush() once no line
// has joined it for `max_wait_time` (default 3s). A block is also sent before a line would take it
// past limits_config.max_line_size (4 MiB when unset), and every open block is sent when together
// they would pass 16 MiB, so a stream of long lines that never match firstline cannot hold
// max_lines x 1 MiB. A stream keeps one slot while it is active, so single-line records cost no
// allocation; a slot idle for a minute is freed. Slots are kept in the order of their last line, so
// Flush and NextFlushNs cost the blocks that are due, not one per stream. The joined entry is the
// block's first entry: its timestamp, labels, extracted values, structured metadata and AckRef, so
// the source position cannot commit past the block until it is sent (see model/ack.h); later lines'
// refs are released as they are appended.
//
// Time: the stage never reads a clock. A block's "last activity" is the newest of the latest
// Flush now_ns seen and the appended entry's timestamp (the read time unless a timestamp stage
// ran before); a timestamp more than max_wait_time ahead of the last Flush is not trusted.
//
// Difference from Promtail: a continuation line with no block open (its block was sent for
// max_wait_time or max_lines) starts a block of its own, with its own timestamp and labels
// (Promtail's joins the lines after it and sends them with the previous block's first entry's).
// A stream remembers that it had a firstline after its slot is freed (up to 65,536 streams).
// Owned by one Pipeline; called from its thread only.
#pragma once

#include <memory>
#include <string>

#include "config/config.h"
#include "pipeline/pipeline.h"
#include "pipeline/stage.h"
#include "util/status.h"

namespace skidder::pipeline::stages {

Result<std::unique_ptr<Stage>> NewMultilineStage(const config::StageConfig& cfg,
                                                 const StageContext& ctx, const std::string& path);

}  // namespace skidder::pipeline::stages
