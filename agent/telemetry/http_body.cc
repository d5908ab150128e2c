// Endpoints that take a body (the push API): the body is kept (up to max_body_bytes; a chunked
// one past that drops the connection, since libmicrohttpd cannot answer mid-body), handed to the
// handler once complete, and the connection is suspended until the handler replies, so a request
// waiting for Loki holds no thread and blocks no other connection.
#include <fmt/format.h>

#include <algorithm>

#include "telemetry/http_server_impl.h"

namespace skidder::telemetry {

bool HttpServer::Impl::IsBodyPath(std::string_view url, std::string_view method) const {
  if (method != "POST" || !handlers.body || !url.starts_with(options.path_prefix)) return false;
  url.remove_prefix(options.path_prefix.size());
  return std::ranges::find(handlers.body_paths, url) != handlers.body_paths.end();
}

MHD_Result HttpServer::Impl::StartBody(MHD_Connection* c, std::string_view path, Request* req) {
  auto header = [c](const char* name) {
    const char* v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
    return std::string(v == nullptr ? "" : v);
  };
  std::string tenant = header("X-Scope-OrgID");
  if (handlers.admit_body) {
    if (std::optional<HttpReply> refused = handlers.admit_body(std::string(path), tenant)) {
      deadlines->OnRequestRead(ConnOf(c));
      return Respond(c, static_cast<unsigned>(refused->status), refused->body, kText, req->has_body,
                     refused->retry_after);
    }
  }
  // Every connection could otherwise hold a max_body_bytes body at once (hundreds of them: tens
  // of gigabytes). What is received counts as it comes (kBodyUpFront of it before). A new body
  // is admitted only while half the budget is free of what is being received, so the bodies
  // already coming have the other half to grow into (new ones taking every byte freed would
  // cut them off one after another); otherwise the sender is asked to come back, as when
  // skidder is backed up.
  const uint64_t up_front = std::min(req->announced, kBodyUpFront);
  if (receiving_bytes + up_front > ReceivingBudget() / 2) {
    deadlines->OnRequestRead(ConnOf(c));
    return Respond(c, MHD_HTTP_TOO_MANY_REQUESTS,
                   fmt::format("other requests' bodies ({} bytes) are being received: retry\n",
                               receiving_bytes),
                   kText, req->has_body, "1");
  }
  receiving_bytes += up_front;
  req->reserved = up_front;
  req->is_body = true;
  req->body.path = std::string(path);
  req->body.content_type = header(MHD_HTTP_HEADER_CONTENT_TYPE);
  req->body.content_encoding = header(MHD_HTTP_HEADER_CONTENT_ENCODING);
  req->body.tenant = std::move(tenant);
  MHD_get_connection_values(
      c, MHD_GET_ARGUMENT_KIND,
      [](void* query, MHD_ValueKind, const char* name, const char* value) {
        static_cast<std::vector<std::pair<std::string, std::string>>*>(query)->emplace_back(
            name, value == nullptr ? "" : value);
        return MHD_YES;
      },
      &req->body.query);
  return MHD_YES;
}

MHD_Result HttpServer::Impl::Body(MHD_Connection* c, const char* upload, size_t* upload_size,
                                  Request* req) {
  if (*upload_size > 0) {
    // Only a chunked body can get here past the limit (a Content-Length was checked before).
    const uint64_t size = req->body.body.size() + *upload_size;
    if (size > options.max_body_bytes) return MHD_NO;
    // Counted as it comes; past the budget the connection is dropped (libmicrohttpd cannot
    // answer mid-body) and the sender sends again.
    if (size > req->reserved) {
      if (receiving_bytes + (size - req->reserved) > ReceivingBudget()) return MHD_NO;
      receiving_bytes += size - req->reserved;
      req->reserved = size;
    }
    req->body.body.append(upload, *upload_size);
    *upload_size = 0;
    return MHD_YES;
  }
  if (!req->dispatched) {
    req->dispatched = true;
    Release(req);  // the handler takes the body now (and decodes it on this thread)
    deadlines->OnRequestRead(ConnOf(c));
    req->state = std::make_shared<BodyState>();
    req->state->conn = c;
    handlers.body(std::move(req->body), [state = req->state](HttpReply reply) {
      std::lock_guard lock(state->mu);
      if (state->reply || state->closed) return;
      state->reply = std::move(reply);
      if (state->suspended) {
        state->suspended = false;
        MHD_resume_connection(state->conn);
      }
    });
  }
  BodyState& st = *req->state;
  std::lock_guard lock(st.mu);
  if (!st.reply) {  // answered later, from the reply function
    st.suspended = true;
    MHD_suspend_connection(c);
    return MHD_YES;
  }
  const HttpReply& r = *st.reply;
  return Respond(c, static_cast<unsigned>(r.status), r.body, kText, false, r.retry_after);
}

}  // namespace skidder::telemetry
