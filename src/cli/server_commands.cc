// `alluvium coordinator` and `alluvium worker`: run one server in the foreground until SIGINT or
// SIGTERM, then shut down cleanly.
#include <CLI/CLI.hpp>

#include "cli/cli.h"
#include "common/logging.h"
#include "coordinator/coordinator_server.h"
#include "worker/worker_server.h"

namespace alluvium::cli {
namespace {

template <typename Options, typename Server>
int Serve(const Context& context) {
  BlockTerminationSignals();
  auto config = context.LoadConfig();
  if (!config.ok()) return Fail(config.status());
  auto options = Options::FromConfig(*config);
  if (!options.ok()) return Fail(options.status());
  auto server = Server::Start(*options);
  if (!server.ok()) return Fail(server.status());
  const int signal = WaitForTerminationSignal();
  ALLUVIUM_LOG(INFO, "signal {} received; shutting down", signal);
  (*server)->Stop();
  return 0;
}

}  // namespace

void AddServerCommands(CLI::App& app, Context& context) {
  app.add_subcommand("coordinator", "Run the coordinator (REST API, scheduler, membership)")
      ->callback([&context] {
        context.action = [&context] {
          return Serve<coordinator::CoordinatorOptions, coordinator::CoordinatorServer>(context);
        };
      });
  app.add_subcommand("worker", "Run a worker (page store, read-through, load tasks)")
      ->callback([&context] {
        context.action = [&context] {
          return Serve<worker::WorkerOptions, worker::WorkerServer>(context);
        };
      });
}

}  // namespace alluvium::cli
