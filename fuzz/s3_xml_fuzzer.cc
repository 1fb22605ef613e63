// Fuzzes what the S3 client reads from an untrusted server: ListObjectsV2 and error bodies
// (XML), the ISO 8601 times in listings and the HTTP dates of Last-Modified headers.
//
// Properties:
// - Nothing throws or aborts; a body that is not a ListBucketResult is kDataLoss, a time that
//   does not parse is kInvalidArgument.
// - A list page has one entry per Contents and CommonPrefixes element, every object with the
//   whole-number Size the body gives (a missing or garbled Size is kDataLoss, not an empty
//   file), and a page that claims more pages carries a continuation token.
// - A parsed time is a valid calendar time: formatting it gives back the text (with the
//   fraction as milliseconds), so a garbage date is an error, never a made-up time.
// - Any time from year 0 to 9999, formatted either way, parses to itself.
#include <chrono>
#include <cstring>

#include <pugixml.hpp>

#include "fuzz_check.h"
#include "ufs/s3/s3_xml.h"

namespace {

using namespace std::chrono;
using alluvium::Code;
namespace s3 = alluvium::ufs::s3;

// Milliseconds since the epoch, as "YYYY-MM-DDTHH:MM:SS.mmmZ" and as an RFC 7231 date.
struct Formatted {
  std::string iso;
  std::string http;
};

Formatted Format(int64_t ms) {
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const sys_time<milliseconds> t{milliseconds(ms)};
  const sys_days day = floor<days>(t);
  const year_month_day date{day};
  const hh_mm_ss time{t - day};
  const int y = static_cast<int>(date.year());
  const unsigned mo = static_cast<unsigned>(date.month()), d = static_cast<unsigned>(date.day());
  const auto h = time.hours().count(), mi = time.minutes().count(), s = time.seconds().count();
  return {fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", y, mo, d, h, mi, s,
                      time.subseconds().count()),
          fmt::format("{}, {:02} {} {:04} {:02}:{:02}:{:02} GMT", kDays[weekday(day).c_encoding()],
                      d, kMonths[mo - 1], y, h, mi, s)};
}

// The ISO text as Format would print it: the fraction padded or cut to milliseconds.
std::string CanonicalIso(std::string_view text) {
  std::string out(text.substr(0, 19));
  std::string_view frac = text.size() > 20 ? text.substr(20, text.size() - 21) : "";
  out += '.';
  out += std::string(frac.substr(0, 3)) + std::string(3 - std::min<size_t>(3, frac.size()), '0');
  out += 'Z';
  return out;
}

void CheckTimes(std::string_view text) {
  auto iso = s3::ParseIso8601(text);
  if (iso.ok()) {
    const std::string again = Format(*iso).iso;
    FUZZ_CHECK(again == CanonicalIso(text), "'{}' parsed as {} ms, which is {}", text, *iso, again);
  } else {
    FUZZ_CHECK(iso.status().code() == Code::kInvalidArgument, "{}", iso.status());
  }
  auto http = s3::ParseHttpDate(text);
  if (http.ok()) {
    // The weekday is not checked (a wrong one is harmless); the rest must match.
    const std::string again = Format(*http).http;
    FUZZ_CHECK(again.substr(3) == text.substr(3), "'{}' parsed as {} ms, which is {}", text, *http,
               again);
  } else {
    FUZZ_CHECK(http.status().code() == Code::kInvalidArgument, "{}", http.status());
  }
}

void CheckTimeRoundTrip(int64_t ms) {
  const Formatted f = Format(ms);
  auto iso = s3::ParseIso8601(f.iso);
  FUZZ_CHECK(iso.ok() && *iso == ms, "{} ms formats as '{}', parses as {}", ms, f.iso,
             iso.ok() ? std::to_string(*iso) : iso.status().ToString());
  auto http = s3::ParseHttpDate(f.http);
  const int64_t seconds_ms = ms - ((ms % 1000) + 1000) % 1000;
  FUZZ_CHECK(http.ok() && *http == seconds_ms, "{} ms formats as '{}', parses as {}", ms, f.http,
             http.ok() ? std::to_string(*http) : http.status().ToString());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text = alluvium::fuzz::AsText(data, size);

  auto page = s3::ParseListObjectsV2(text);
  if (page.ok()) {
    FUZZ_CHECK(!page->truncated || !page->next_continuation_token.empty(),
               "truncated page without a token");
    // One entry per element, each with the Size the body gives (digits only).
    pugi::xml_document doc;
    FUZZ_CHECK(doc.load_buffer(text.data(), text.size()), "parsed a page pugixml refuses");
    const pugi::xml_node root = doc.child("ListBucketResult");
    size_t objects = 0, prefixes = 0;
    for (pugi::xml_node c : root.children("Contents")) {
      FUZZ_CHECK(objects < page->objects.size(), "fewer objects than Contents");
      const std::string size = c.child_value("Size");
      FUZZ_CHECK(!size.empty() && size.find_first_not_of("0123456789") == std::string::npos &&
                     std::stoull(size) == page->objects[objects].size,
                 "Size '{}' listed as {}", size, page->objects[objects].size);
      ++objects;
    }
    for ([[maybe_unused]] pugi::xml_node p : root.children("CommonPrefixes")) ++prefixes;
    FUZZ_CHECK(objects == page->objects.size() && prefixes == page->common_prefixes.size(),
               "{} Contents, {} CommonPrefixes listed as {} objects, {} prefixes", objects,
               prefixes, page->objects.size(), page->common_prefixes.size());
  } else {
    FUZZ_CHECK(page.status().code() == Code::kDataLoss, "{}", page.status());
  }
  (void)s3::ParseError(text);
  (void)s3::UnquoteEtag(text);
  CheckTimes(text);

  // Years 0 to 9999, from the input's first 8 bytes.
  constexpr int64_t kYear0 = -62167219200000;      // 0000-01-01T00:00:00Z
  constexpr int64_t kYear10000 = 253402300800000;  // 10000-01-01T00:00:00Z
  uint64_t raw = 0;
  std::memcpy(&raw, data, std::min(size, sizeof raw));
  CheckTimeRoundTrip(kYear0 + static_cast<int64_t>(raw % (kYear10000 - kYear0)));
  return 0;
}
