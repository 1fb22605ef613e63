// Which settings are secrets, and how they are shown: the one place that decides it. A secret's
// value stays on the servers (the coordinator's mount table, the worker that signs with it); it
// never reaches a client, a log line, a REST answer or an error message. Everything that shows
// settings (`conf show`, `fs mounts`, ClusterInfo, log lines) masks them with these functions.
// Pure functions; safe for concurrent use.
#pragma once

#include <map>
#include <string>
#include <string_view>

namespace alluvium {

// What is shown instead of a secret's value.
inline constexpr std::string_view kMaskedValue = "******";

// Whether `key` (a configuration key or a mount option, any spelling: "s3a.secretKey",
// "alluvium.underfs.s3.session.token", "fs.azure.account.key.x", "db.password") names a secret.
// Decided by the name alone, case and separators ignored: it mentions a secret, password,
// token, private key, API key or account key. A key that names where a secret is kept (its last
// part is "file" or "path", e.g. "alluvium.security.token.file") is not one: its value is a path.
// Errs on the side of masking: a new credential option is masked without anyone listing it.
bool IsSecretKey(std::string_view key);

// `value`, or kMaskedValue if `key` is a secret and `value` is not empty (an empty value is
// shown as it is, so one sees that nothing is set).
std::string MaskedValue(std::string_view key, std::string_view value);

// The properties with every secret value masked: what may leave the servers.
std::map<std::string, std::string> MaskSecrets(
    const std::map<std::string, std::string>& properties);

// "k1=v1, k2=******": properties for a log line or an error message, secrets masked.
std::string FormatMasked(const std::map<std::string, std::string>& properties);

}  // namespace alluvium
