// SigV4 signing (see sigv4.h). Pure functions; safe for concurrent use.
//
// Hashing uses OpenSSL's one-shot EVP_Digest and HMAC, which OpenSSL 3.0 keeps undeprecated
// (unlike SHA256_Init and HMAC_CTX), so the code builds warning-free on 1.1 and 3.x alike.
#include "ufs/s3/sigv4.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <array>
#include <map>

#include <fmt/format.h>

#include "common/status.h"

namespace alluvium::ufs::s3 {
namespace {

constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";
constexpr size_t kSha256Bytes = 32;

std::string HexEncode(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) {
    const auto b = static_cast<unsigned char>(c);
    out += kDigits[b >> 4];
    out += kDigits[b & 0xf];
  }
  return out;
}

std::string HmacSha256(std::string_view key, std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int size = 0;
  const unsigned char* ok =
      HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac.data(), &size);
  // Fails only if OpenSSL itself is broken (no SHA-256, no memory): nothing a caller could do.
  ALLUVIUM_CHECK(ok != nullptr && size == kSha256Bytes);
  return std::string(reinterpret_cast<const char*>(mac.data()), size);
}

bool IsUnreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

std::string Lowercase(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// Trims, and turns each inner run of spaces and tabs into one space, as AWS's canonical
// headers require, so that a proxy re-spacing a header does not break the signature.
std::string NormaliseHeaderValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  bool space_pending = false;
  for (char c : value) {
    if (c == ' ' || c == '\t') {
      space_pending = !out.empty();
      continue;
    }
    if (space_pending) out += ' ';
    space_pending = false;
    out += c;
  }
  return out;
}

// Lowercased name -> values joined with ',' in the order given; std::map sorts the names
// bytewise, which is the order AWS wants.
std::map<std::string, std::string> CanonicalHeaderMap(const RequestToSign& r) {
  std::map<std::string, std::string> headers;
  for (const auto& [name, value] : r.headers) {
    auto [it, inserted] = headers.try_emplace(Lowercase(name), NormaliseHeaderValue(value));
    if (!inserted) it->second += "," + NormaliseHeaderValue(value);
  }
  return headers;
}

std::string CanonicalQuery(const RequestToSign& r) {
  std::vector<std::pair<std::string, std::string>> encoded;
  encoded.reserve(r.query.size());
  for (const auto& [name, value] : r.query) {
    encoded.emplace_back(UriEncode(name, true), UriEncode(value, true));
  }
  // Sorted after encoding: AWS compares the encoded bytes, and encoding changes the order.
  std::sort(encoded.begin(), encoded.end());
  std::string out;
  for (const auto& [name, value] : encoded) {
    if (!out.empty()) out += '&';
    out += name;
    out += '=';
    out += value;
  }
  return out;
}

std::string SignedHeaderList(const std::map<std::string, std::string>& headers) {
  std::string out;
  for (const auto& [name, value] : headers) {
    if (!out.empty()) out += ';';
    out += name;
  }
  return out;
}

}  // namespace

std::string UriEncode(std::string_view s, bool encode_slash) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (IsUnreserved(c) || (c == '/' && !encode_slash)) {
      out += ch;
    } else {
      out += '%';
      out += kDigits[c >> 4];
      out += kDigits[c & 0xf];
    }
  }
  return out;
}

std::string Sha256Hex(std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int size = 0;
  const int ok = EVP_Digest(data.data(), data.size(), md.data(), &size, EVP_sha256(), nullptr);
  ALLUVIUM_CHECK(ok == 1 && size == kSha256Bytes);
  return HexEncode(std::string_view(reinterpret_cast<const char*>(md.data()), size));
}

std::string CanonicalRequest(const RequestToSign& r) {
  const std::map<std::string, std::string> headers = CanonicalHeaderMap(r);
  std::string out = r.method;
  out += '\n';
  out += r.canonical_uri.empty() ? "/" : r.canonical_uri;
  out += '\n';
  out += CanonicalQuery(r);
  out += '\n';
  for (const auto& [name, value] : headers) {
    out += name;
    out += ':';
    out += value;
    out += '\n';
  }
  out += '\n';
  out += SignedHeaderList(headers);
  out += '\n';
  out += r.payload_hash;
  return out;
}

std::string SignedHeaders(const RequestToSign& r) {
  return SignedHeaderList(CanonicalHeaderMap(r));
}

std::string StringToSign(std::string_view amz_date, std::string_view scope,
                         std::string_view canonical_request) {
  return fmt::format("{}\n{}\n{}\n{}", kAlgorithm, amz_date, scope, Sha256Hex(canonical_request));
}

std::string SigningKey(std::string_view secret_access_key, std::string_view date,
                       std::string_view region, std::string_view service) {
  const std::string k_date = HmacSha256(fmt::format("AWS4{}", secret_access_key), date);
  const std::string k_region = HmacSha256(k_date, region);
  const std::string k_service = HmacSha256(k_region, service);
  return HmacSha256(k_service, "aws4_request");
}

std::string Authorization(const RequestToSign& r, const Credentials& c, std::string_view region,
                          std::string_view service, std::string_view amz_date) {
  const std::string_view date = amz_date.substr(0, 8);  // YYYYMMDD
  const std::string scope = fmt::format("{}/{}/{}/aws4_request", date, region, service);
  const std::string string_to_sign = StringToSign(amz_date, scope, CanonicalRequest(r));
  const std::string signature =
      HexEncode(HmacSha256(SigningKey(c.secret_access_key, date, region, service), string_to_sign));
  return fmt::format("{} Credential={}/{}, SignedHeaders={}, Signature={}", kAlgorithm,
                     c.access_key_id, scope, SignedHeaders(r), signature);
}

std::string AmzDate(std::chrono::system_clock::time_point t) {
  const auto seconds = std::chrono::floor<std::chrono::seconds>(t);
  const auto day = std::chrono::floor<std::chrono::days>(seconds);
  const std::chrono::year_month_day ymd{day};
  const std::chrono::hh_mm_ss hms{seconds - day};
  return fmt::format("{:04}{:02}{:02}T{:02}{:02}{:02}Z", static_cast<int>(ymd.year()),
                     static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                     hms.hours().count(), hms.minutes().count(), hms.seconds().count());
}

}  // namespace alluvium::ufs::s3
