// One error type for the whole code base: a Status (code + message) and a Result<T> that holds
// either a T or a non-OK Status. Our code does not throw; library exceptions are caught at the
// call and turned into a Status. Codes equal grpc::StatusCode so conversion is a cast.
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>

#include <fmt/format.h>

namespace alluvium {

enum class Code : uint8_t {
  kOk = 0,
  kCancelled = 1,
  kUnknown = 2,
  kInvalidArgument = 3,
  kDeadlineExceeded = 4,
  kNotFound = 5,
  kAlreadyExists = 6,
  kPermissionDenied = 7,
  kResourceExhausted = 8,
  kFailedPrecondition = 9,
  kAborted = 10,
  kOutOfRange = 11,
  kUnimplemented = 12,
  kInternal = 13,
  kUnavailable = 14,
  kDataLoss = 15,
  kUnauthenticated = 16,
};

std::string_view CodeName(Code code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }

  // "context: message", keeping the code. A no-op on OK.
  Status WithContext(std::string_view context) const;
  // "NOT_FOUND: message" or "OK".
  std::string ToString() const;

  friend bool operator==(const Status& a, const Status& b) {
    return a.code_ == b.code_ && a.message_ == b.message_;
  }
  friend std::ostream& operator<<(std::ostream& os, const Status& s) { return os << s.ToString(); }

 private:
  Code code_ = Code::kOk;
  std::string message_;
};

inline Status OkStatus() { return Status(); }
inline Status Cancelled(std::string m) { return {Code::kCancelled, std::move(m)}; }
inline Status UnknownError(std::string m) { return {Code::kUnknown, std::move(m)}; }
inline Status InvalidArgument(std::string m) { return {Code::kInvalidArgument, std::move(m)}; }
inline Status DeadlineExceeded(std::string m) { return {Code::kDeadlineExceeded, std::move(m)}; }
inline Status NotFound(std::string m) { return {Code::kNotFound, std::move(m)}; }
inline Status AlreadyExists(std::string m) { return {Code::kAlreadyExists, std::move(m)}; }
inline Status PermissionDenied(std::string m) { return {Code::kPermissionDenied, std::move(m)}; }
inline Status ResourceExhausted(std::string m) { return {Code::kResourceExhausted, std::move(m)}; }
inline Status FailedPrecondition(std::string m) {
  return {Code::kFailedPrecondition, std::move(m)};
}
inline Status Aborted(std::string m) { return {Code::kAborted, std::move(m)}; }
inline Status OutOfRange(std::string m) { return {Code::kOutOfRange, std::move(m)}; }
inline Status Unimplemented(std::string m) { return {Code::kUnimplemented, std::move(m)}; }
inline Status InternalError(std::string m) { return {Code::kInternal, std::move(m)}; }
inline Status Unavailable(std::string m) { return {Code::kUnavailable, std::move(m)}; }
inline Status DataLoss(std::string m) { return {Code::kDataLoss, std::move(m)}; }
inline Status Unauthenticated(std::string m) { return {Code::kUnauthenticated, std::move(m)}; }

[[noreturn]] void CheckFailed(const char* file, int line, const char* condition);

// Aborts on a broken invariant (our bug), never on what the environment causes.
#define ALLUVIUM_CHECK(cond) ((cond) ? (void)0 : ::alluvium::CheckFailed(__FILE__, __LINE__, #cond))

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}         // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {  // NOLINT: implicit by design
    ALLUVIUM_CHECK(!status_.ok());
  }

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }

  T& value() & { return Checked(), *value_; }
  const T& value() const& { return Checked(), *value_; }
  T&& value() && { return Checked(), std::move(*value_); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  T value_or(T fallback) const& { return ok() ? *value_ : std::move(fallback); }

 private:
  void Checked() const { ALLUVIUM_CHECK(value_.has_value()); }

  Status status_;
  std::optional<T> value_;
};

namespace internal {
inline Status AsStatus(Status s) { return s; }
template <typename T>
Status AsStatus(const Result<T>& r) {
  return r.status();
}
}  // namespace internal

}  // namespace alluvium

#define ALLUVIUM_CONCAT_INNER(a, b) a##b
#define ALLUVIUM_CONCAT(a, b) ALLUVIUM_CONCAT_INNER(a, b)

// Returns the Status of `expr` (a Status or a Result) from the calling function if it is not OK.
#define ALLUVIUM_RETURN_IF_ERROR(expr)                                            \
  do {                                                                            \
    ::alluvium::Status alluvium_status_ = ::alluvium::internal::AsStatus((expr)); \
    if (!alluvium_status_.ok()) return alluvium_status_;                          \
  } while (0)

// `lhs = value of expr`, or returns its Status. lhs may declare: `auto x`.
#define ALLUVIUM_ASSIGN_OR_RETURN(lhs, expr) \
  ALLUVIUM_ASSIGN_OR_RETURN_IMPL(ALLUVIUM_CONCAT(alluvium_result_, __LINE__), lhs, expr)
#define ALLUVIUM_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                   \
  if (!tmp.ok()) return tmp.status();                  \
  lhs = std::move(tmp).value()

template <>
struct fmt::formatter<alluvium::Status> : fmt::formatter<std::string_view> {
  template <typename Ctx>
  auto format(const alluvium::Status& s, Ctx& ctx) const {
    return fmt::formatter<std::string_view>::format(s.ToString(), ctx);
  }
};
