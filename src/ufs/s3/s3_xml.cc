#include "ufs/s3/s3_xml.h"

#include <chrono>
#include <cstring>
#include <pugixml.hpp>

#include "common/decimal.h"

namespace alluvium::ufs::s3 {
namespace {

// Exactly `count` (at most 9) decimal digits at `at`.
Result<int> Digits(std::string_view text, size_t at, size_t count) {
  if (at + count > text.size()) return InvalidArgument("short");
  const std::optional<int> value = ParseDecimal<int>(text.substr(at, count));
  if (!value) return InvalidArgument("not digits");
  return *value;
}

// kInvalidArgument for a day or time that does not exist ("2024-02-30", "25:00:00"), which
// would otherwise turn into some other time.
Result<int64_t> ToEpochMs(int year, int month, int day, int hour, int minute, int second, int ms) {
  using namespace std::chrono;
  const year_month_day date{std::chrono::year(year), std::chrono::month(month),
                            std::chrono::day(day)};
  if (!date.ok() || hour > 23 || minute > 59 || second > 59) {
    return InvalidArgument("no such date or time");
  }
  return duration_cast<milliseconds>(sys_days(date).time_since_epoch()).count() +
         ((hour * 60 + minute) * 60 + second) * 1000LL + ms;
}

}  // namespace

Result<ListPage> ParseListObjectsV2(std::string_view xml) {
  pugi::xml_document doc;
  const pugi::xml_parse_result parsed = doc.load_buffer(xml.data(), xml.size());
  const pugi::xml_node root = doc.child("ListBucketResult");
  if (!parsed || !root) {
    return DataLoss(fmt::format("S3 list answer is not a ListBucketResult: {}",
                                parsed ? "other document" : parsed.description()));
  }
  ListPage page;
  for (pugi::xml_node c : root.children("Contents")) {
    ObjectEntry e;
    e.key = c.child_value("Key");
    // A missing or garbled Size must not turn into an empty file.
    const std::string_view size = c.child_value("Size");
    const auto parsed_size = ParseDecimal<decltype(e.size)>(size);
    if (!parsed_size) {
      return DataLoss(
          fmt::format("S3 list answer has no valid Size for key '{}': '{}'", e.key, size));
    }
    e.size = *parsed_size;
    e.etag = UnquoteEtag(c.child_value("ETag"));
    auto mtime = ParseIso8601(c.child_value("LastModified"));
    e.last_modified_ms = mtime.ok() ? *mtime : 0;
    page.objects.push_back(std::move(e));
  }
  for (pugi::xml_node p : root.children("CommonPrefixes")) {
    page.common_prefixes.emplace_back(p.child_value("Prefix"));
  }
  page.truncated = std::strcmp(root.child_value("IsTruncated"), "true") == 0;
  page.next_continuation_token = root.child_value("NextContinuationToken");
  if (page.truncated && page.next_continuation_token.empty()) {
    return DataLoss("S3 list answer is truncated but has no NextContinuationToken");
  }
  return page;
}

ErrorBody ParseError(std::string_view xml) {
  pugi::xml_document doc;
  if (!doc.load_buffer(xml.data(), xml.size())) return {};
  const pugi::xml_node error = doc.child("Error");
  return {error.child_value("Code"), error.child_value("Message")};
}

Result<int64_t> ParseIso8601(std::string_view t) {
  // YYYY-MM-DDTHH:MM:SS[.fff]Z
  auto bad = [&] { return InvalidArgument(fmt::format("'{}' is not an ISO 8601 UTC time", t)); };
  if (t.size() < 20 || t[4] != '-' || t[7] != '-' || t[10] != 'T' || t[13] != ':' || t[16] != ':' ||
      t.back() != 'Z') {
    return bad();
  }
  auto y = Digits(t, 0, 4), mo = Digits(t, 5, 2), d = Digits(t, 8, 2), h = Digits(t, 11, 2),
       mi = Digits(t, 14, 2), s = Digits(t, 17, 2);
  if (!y.ok() || !mo.ok() || !d.ok() || !h.ok() || !mi.ok() || !s.ok()) return bad();
  int ms = 0;
  if (t.size() > 20) {  // a fraction of any precision; milliseconds are kept
    const std::string_view fraction = t.substr(20, t.size() - 21);
    if (t[19] != '.' || fraction.empty() ||
        fraction.find_first_not_of("0123456789") != std::string_view::npos) {
      return bad();
    }
    const size_t n = std::min<size_t>(3, fraction.size());
    ms = *Digits(fraction, 0, n) * (n == 1 ? 100 : n == 2 ? 10 : 1);
  }
  auto ms_since_epoch = ToEpochMs(*y, *mo, *d, *h, *mi, *s, ms);
  if (!ms_since_epoch.ok()) return bad();
  return ms_since_epoch;
}

Result<int64_t> ParseHttpDate(std::string_view t) {
  // "Wed, 31 Jan 2024 12:34:56 GMT"
  static constexpr std::string_view kMonths = "JanFebMarAprMayJunJulAugSepOctNovDec";
  auto bad = [&] { return InvalidArgument(fmt::format("'{}' is not an HTTP date", t)); };
  if (t.size() != 29 || t.substr(3, 2) != ", " || t[7] != ' ' || t[11] != ' ' || t[16] != ' ' ||
      t[19] != ':' || t[22] != ':' || t.substr(25) != " GMT") {
    return bad();
  }
  const size_t month_at = kMonths.find(t.substr(8, 3));
  if (month_at == std::string_view::npos || month_at % 3 != 0) return bad();
  auto d = Digits(t, 5, 2), y = Digits(t, 12, 4), h = Digits(t, 17, 2), mi = Digits(t, 20, 2),
       s = Digits(t, 23, 2);
  if (!d.ok() || !y.ok() || !h.ok() || !mi.ok() || !s.ok()) return bad();
  auto ms_since_epoch = ToEpochMs(*y, static_cast<int>(month_at / 3) + 1, *d, *h, *mi, *s, 0);
  if (!ms_since_epoch.ok()) return bad();
  return ms_since_epoch;
}

std::string UnquoteEtag(std::string_view etag) {
  if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') {
    etag = etag.substr(1, etag.size() - 2);
  }
  return std::string(etag);
}

}  // namespace alluvium::ufs::s3
