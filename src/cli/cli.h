// The `alluvium` command line: one binary, subcommands in Alluxio's shape. Each file registers
// one group of subcommands; the chosen one runs after parsing and returns the exit code.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "common/config.h"
#include "common/status.h"

namespace CLI {
class App;
}

namespace alluvium::cli {

int Run(int argc, char** argv);

// Flags every subcommand accepts.
struct GlobalFlags {
  std::string config_file;             // --config
  std::vector<std::string> overrides;  // -D key=value
};

struct Context {
  GlobalFlags flags;
  std::function<int()> action;  // set by the parsed subcommand

  // The effective configuration; prints the error and returns it on failure.
  Result<Config> LoadConfig() const;
  // This binary with the global flags (the config file made absolute), so that a process it
  // starts (a server, the FUSE daemon) reads the same configuration.
  std::vector<std::string> SelfCommand() const;
};

// Prints "alluvium: <code in words>: <message>" to stderr and returns the exit code for it (1).
int Fail(const Status& status);

// Makes `cmd`, once parsed, run `run` with the effective configuration (its error printed,
// exit 1, when it cannot be loaded).
void RunWithConfig(CLI::App* cmd, Context& context, std::function<int(const Config&)> run);

void AddServerCommands(CLI::App& app, Context& context);
void AddFsCommands(CLI::App& app, Context& context);
void AddClusterCommands(CLI::App& app, Context& context);
void AddConfCommands(CLI::App& app, Context& context);
void AddJobCommands(CLI::App& app, Context& context);
void AddFuseCommands(CLI::App& app, Context& context);

// Blocks SIGINT and SIGTERM in the calling thread (and every thread it starts later) so that
// WaitForTerminationSignal can take them synchronously. Call before starting any thread.
void BlockTerminationSignals();
int WaitForTerminationSignal();

}  // namespace alluvium::cli
