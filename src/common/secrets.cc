#include "common/secrets.h"

#include <array>
#include <cctype>

namespace alluvium {
namespace {

// Words that make a key a secret, lower case, separators removed ("secretKey", "secret.key" and
// "secret_key" all read "secretkey").
constexpr std::array<std::string_view, 7> kSecretWords = {
    "secret", "password", "passwd", "token", "privatekey", "apikey", "accountkey"};

// A last part that says the value is where a secret is kept, not the secret.
constexpr std::array<std::string_view, 2> kLocationSuffixes = {"file", "path"};

std::string Squashed(std::string_view key) {
  std::string out;
  out.reserve(key.size());
  for (char c : key) {
    if (c == '.' || c == '_' || c == '-') continue;
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

std::string LastPart(std::string_view key) {
  const size_t dot = key.find_last_of("._-");
  return Squashed(dot == std::string_view::npos ? key : key.substr(dot + 1));
}

}  // namespace

bool IsSecretKey(std::string_view key) {
  const std::string last = LastPart(key);
  for (std::string_view suffix : kLocationSuffixes) {
    if (last == suffix) return false;
  }
  const std::string squashed = Squashed(key);
  for (std::string_view word : kSecretWords) {
    if (squashed.find(word) != std::string::npos) return true;
  }
  return false;
}

std::string MaskedValue(std::string_view key, std::string_view value) {
  if (!value.empty() && IsSecretKey(key)) return std::string(kMaskedValue);
  return std::string(value);
}

std::map<std::string, std::string> MaskSecrets(
    const std::map<std::string, std::string>& properties) {
  std::map<std::string, std::string> out;
  for (const auto& [key, value] : properties) out.emplace(key, MaskedValue(key, value));
  return out;
}

std::string FormatMasked(const std::map<std::string, std::string>& properties) {
  std::string out;
  for (const auto& [key, value] : properties) {
    if (!out.empty()) out += ", ";
    out += key;
    out += '=';
    out += MaskedValue(key, value);
  }
  return out;
}

}  // namespace alluvium
