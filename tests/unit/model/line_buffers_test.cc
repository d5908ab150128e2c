#include "model/line_buffers.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

namespace skidder {
namespace {

TEST(LineBuffers, AGivenBackBufferIsTakenAgainOnTheSameThreadOnly) {
  std::thread([] {
    std::vector<Entry> done(2);
    done[0].line = std::string(200, 'x');
    done[1].line = "short";  // in-object: nothing to keep
    const char* buffer = done[0].line.data();
    line_buffers::GiveBack(done);
    EXPECT_TRUE(done[0].line.empty());
    EXPECT_EQ(line_buffers::Kept(), 1u);
    std::thread([] { EXPECT_EQ(line_buffers::Kept(), 0u) << "per thread"; }).join();
    std::string s = line_buffers::Take();
    EXPECT_TRUE(s.empty());
    EXPECT_EQ(s.data(), buffer);
    EXPECT_EQ(line_buffers::Kept(), 0u);
  }).join();
}

TEST(LineBuffers, KeepsNoLongBuffersAndAtMostItsBound) {
  std::thread([] {
    std::vector<Entry> done(line_buffers::kMaxKept + 10);
    for (Entry& e : done) e.line = std::string(100, 'x');
    done[0].line = std::string(line_buffers::kMaxKeptCapacity + 1, 'x');
    line_buffers::GiveBack(done);
    EXPECT_EQ(line_buffers::Kept(), line_buffers::kMaxKept);
    EXPECT_EQ(done[0].line.size(), line_buffers::kMaxKeptCapacity + 1) << "not kept";
  }).join();
}

}  // namespace
}  // namespace skidder
