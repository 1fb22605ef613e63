// The durable part of a load job, what was asked and how far it got, and its JSON codec for the
// job store. Pure value code.
#pragma once

#include <string>

#include <nlohmann/json_fwd.hpp>

#include "common/status.h"
#include "coordinator/jobs/load_progress.h"

namespace alluvium::coordinator {

struct LoadJobRecord {
  std::string key;         // identity: the target UFS URI ("index:" + URI for index files)
  std::string target_uri;  // the UFS URI to load, or of the index file
  bool index_file = false;
  LoadProgress progress;  // committed counters (files up to the cursor); its total_known
                          // says bytes_total is the dataset's (stored as "countDone")
  std::string cursor;     // last URI, in listing order, up to which every file is done

  nlohmann::json ToJson() const;
  // kDataLoss for a record that is not one: a field missing, of the wrong type, or a counter
  // that is not a whole number in range (the store was damaged; the job is not resumed).
  static Result<LoadJobRecord> FromJson(const nlohmann::json& j);
};

}  // namespace alluvium::coordinator
