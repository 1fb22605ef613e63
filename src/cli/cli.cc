#include "cli/cli.h"

#include <filesystem>

#include <cctype>
#include <cerrno>
#include <csignal>
#include <cstdio>

#include <CLI/CLI.hpp>

#include "cli/process.h"
#include "common/logging.h"
#include "common/status_mapping.h"

namespace alluvium::cli {

Result<Config> Context::LoadConfig() const {
  auto config = Config::Load({.file = flags.config_file, .overrides = flags.overrides});
  if (!config.ok()) return config.status();
  if (Status st = logging::Init(config->GetString(keys::kLogLevel)); !st.ok()) return st;
  return config;
}

std::vector<std::string> Context::SelfCommand() const {
  std::vector<std::string> argv = {SelfExecutable()};
  if (!flags.config_file.empty()) {
    std::error_code ec;
    const std::filesystem::path absolute = std::filesystem::absolute(flags.config_file, ec);
    argv.push_back("--config");
    argv.push_back(ec ? flags.config_file : absolute.string());
  }
  for (const std::string& o : flags.overrides) {
    argv.push_back("-D");
    argv.push_back(o);
  }
  return argv;
}

void RunWithConfig(CLI::App* cmd, Context& context, std::function<int(const Config&)> run) {
  cmd->callback([&context, run = std::move(run)] {
    context.action = [&context, run] {
      auto config = context.LoadConfig();
      if (!config.ok()) return Fail(config.status());
      return run(*config);
    };
  });
}

int Fail(const Status& status) {
  // "alluvium: not found: /x: ..." - the code in words, then what happened.
  std::string label(CodeName(status.code()));
  for (char& c : label) c = c == '_' ? ' ' : static_cast<char>(std::tolower(c));
  std::fprintf(stderr, "alluvium: %s: %s\n", label.c_str(), status.message().c_str());
  return 1;
}

void BlockTerminationSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int WaitForTerminationSignal() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  int signal = 0;
  sigwait(&set, &signal);
  return signal;
}

int Run(int argc, char** argv) {
  CLI::App app{"Alluvium: a distributed data cache with distributed load (cache preloading)",
               "alluvium"};
  app.require_subcommand(1);
  app.fallthrough();
  Context context;
  app.add_option("--config", context.flags.config_file,
                 "Properties file (default: $ALLUVIUM_CONF if set)");
  app.add_option("-D,--set", context.flags.overrides, "Override a configuration key: key=value")
      ->take_all();

  AddServerCommands(app, context);
  AddFsCommands(app, context);
  AddClusterCommands(app, context);
  AddConfCommands(app, context);
  AddJobCommands(app, context);
  AddFuseCommands(app, context);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "alluvium: %s\nRun 'alluvium --help' for usage.\n", e.what());
    return 2;
  }
  if (!context.action) {
    std::fprintf(stderr, "alluvium: no command given. Run 'alluvium --help' for usage.\n");
    return 2;
  }
  try {
    const int code = context.action();
    // What is still in stdio's buffer is written here, so a failure to write it (a full disk
    // behind a redirect) fails the command instead of vanishing at exit.
    if (code == 0 && std::fflush(stdout) != 0) {
      return Fail(FromErrno(errno, "write to standard output"));
    }
    return code;
  } catch (const std::exception& e) {
    // Commands return a Status; this only keeps a library's exception (JSON, filesystem) that
    // slipped through from ending in "terminate called" and a core dump.
    return Fail(InternalError(e.what()));
  }
}

}  // namespace alluvium::cli
