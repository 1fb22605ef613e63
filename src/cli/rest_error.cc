#include "cli/rest_error.h"

#include <optional>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/status_mapping.h"

namespace alluvium::cli {

Status StatusOfErrorReply(int http_status, std::string_view body) {
  const nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
  std::optional<Code> code;
  std::string message = fmt::format("HTTP {}: {}", http_status, body);
  if (j.is_object()) {
    if (auto e = j.find("error"); e != j.end() && e->is_string()) {
      code = CodeFromName(e->get<std::string>());
    }
    if (auto m = j.find("message"); m != j.end() && m->is_string()) {
      message = m->get<std::string>();
    }
  }
  Code c = code.value_or(CodeOfHttpStatus(http_status));
  if (c == Code::kOk) c = Code::kUnknown;
  return Status(c, std::move(message));
}

}  // namespace alluvium::cli
