// Every configuration key Alluvium reads, with its type, default and documentation. This is the
// only place keys are spelled; `alluvium conf defaults` prints the table and docs/configuration.md
// is generated from it (a test keeps the two equal). Keys mirror Alluxio's where one exists.
#pragma once

#include <span>
#include <string_view>

namespace alluvium {

enum class KeyType { kString, kInt, kBool, kSize, kDuration, kDouble };

struct KeyInfo {
  std::string_view name;
  KeyType type;
  std::string_view default_value;
  std::string_view doc;
};

namespace keys {
extern const KeyInfo kWorkDir;
extern const KeyInfo kLogLevel;
extern const KeyInfo kUfsRoot;
extern const KeyInfo kMounts;

extern const KeyInfo kCoordinatorHostname;
extern const KeyInfo kCoordinatorBindHost;
extern const KeyInfo kCoordinatorRpcPort;
extern const KeyInfo kCoordinatorWebPort;
extern const KeyInfo kCoordinatorDataDir;
extern const KeyInfo kCoordinatorWorkerTimeout;

extern const KeyInfo kWorkerHostname;
extern const KeyInfo kWorkerBindHost;
extern const KeyInfo kWorkerRpcPort;
extern const KeyInfo kWorkerDataDir;
extern const KeyInfo kWorkerHeartbeatInterval;
extern const KeyInfo kWorkerShortCircuitSocket;
extern const KeyInfo kWorkerPageStoreDirs;
extern const KeyInfo kWorkerPageStoreRegionSize;
extern const KeyInfo kWorkerPageStoreSize;
extern const KeyInfo kWorkerPageSize;
extern const KeyInfo kWorkerUfsReadThreads;

extern const KeyInfo kUnderfsS3Endpoint;
extern const KeyInfo kUnderfsS3Region;
extern const KeyInfo kUnderfsS3AccessKey;
extern const KeyInfo kUnderfsS3SecretKey;
extern const KeyInfo kUnderfsS3SessionToken;
extern const KeyInfo kUnderfsS3PathStyle;
extern const KeyInfo kUnderfsS3RequestTimeout;
extern const KeyInfo kUnderfsS3ConnectTimeout;
extern const KeyInfo kUnderfsS3MaxAttempts;
extern const KeyInfo kUnderfsS3RetryBaseDelay;
extern const KeyInfo kUnderfsS3RetryMaxDelay;
extern const KeyInfo kUnderfsS3ListPageSize;
extern const KeyInfo kUnderfsS3ReadBlockSize;
extern const KeyInfo kUnderfsS3ReadAhead;
extern const KeyInfo kUnderfsS3CaBundle;

extern const KeyInfo kUserSegmentSize;
extern const KeyInfo kUserSelectionPolicy;
extern const KeyInfo kUserVirtualNodes;
extern const KeyInfo kUserReadWorkersTried;
extern const KeyInfo kUserShortCircuitEnabled;
extern const KeyInfo kUserMetadataCacheMaxSize;
extern const KeyInfo kUserMetadataCacheExpiration;
extern const KeyInfo kUserReadAheadWindow;
extern const KeyInfo kUserReadAheadPartSize;
extern const KeyInfo kUserMallocTrimThreshold;
extern const KeyInfo kUserRpcTimeout;
extern const KeyInfo kClusterId;
extern const KeyInfo kSecurityTlsEnabled;
extern const KeyInfo kSecurityTlsCertFile;
extern const KeyInfo kSecurityTlsKeyFile;
extern const KeyInfo kSecurityTlsCaFile;
extern const KeyInfo kSecurityTlsClientAuth;
extern const KeyInfo kSecurityTokenFile;
extern const KeyInfo kUserCacheFilterConfigFile;
extern const KeyInfo kUserCacheFilterConfigCheckInterval;

extern const KeyInfo kJobRetentionTime;
extern const KeyInfo kJobMaxActive;
extern const KeyInfo kJobLoadMaxAttempts;
extern const KeyInfo kJobLoadNoWorkerTimeout;
extern const KeyInfo kJobLoadNoSpaceTimeout;
extern const KeyInfo kJobLoadListingAhead;
extern const KeyInfo kJobLoadFailureRatio;
extern const KeyInfo kJobLoadInflightPerWorker;

extern const KeyInfo kClusterWorkers;
extern const KeyInfo kClusterRunDir;
}  // namespace keys

// All keys, in the order they are documented.
std::span<const KeyInfo* const> AllKeys();

// The key's environment variable: "alluvium.worker.rpc.port" -> "ALLUVIUM_WORKER_RPC_PORT".
std::string EnvNameOf(std::string_view key);

}  // namespace alluvium
