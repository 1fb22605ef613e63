// The Alluxio-compatible load endpoints: submit_job/load, progress_job/load, stop_job/load and
// list_job. Parameters come from a JSON body (also on GET, as Alluxio's examples send them) or
// from the query string.
#pragma once

#include "coordinator/rest/rest_server.h"
#include "coordinator/scheduler/job_manager.h"

namespace alluvium::coordinator {

void AddLoadRoutes(RestServer& server, JobManager& jobs);

}  // namespace alluvium::coordinator
