// `alluvium conf show` (effective values and where each came from) and `alluvium conf defaults`
// (every key with its default and documentation; --markdown renders docs/configuration.md).
#include <cstdio>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "cli/cli.h"
#include "common/config_doc.h"
#include "common/secrets.h"

namespace alluvium::cli {

void AddConfCommands(CLI::App& app, Context& context) {
  CLI::App* conf = app.add_subcommand("conf", "Show configuration")->require_subcommand(1);
  conf->add_subcommand("show", "Print every key's effective value and its source")
      ->callback([&context] {
        context.action = [&context] {
          auto config = Config::Load(
              {.file = context.flags.config_file, .overrides = context.flags.overrides});
          if (!config.ok()) return Fail(config.status());
          for (const KeyInfo* key : AllKeys()) {
            // Secrets show as "******" (common/secrets.h): set, but not what.
            fmt::print("{}={}  ({})\n", key->name, MaskedValue(key->name, config->GetString(*key)),
                       config->SourceOf(*key));
          }
          return 0;
        };
      });
  CLI::App* defaults = conf->add_subcommand("defaults", "Print every key, its default and doc");
  auto as_markdown = std::make_shared<bool>(false);
  defaults->add_flag("--markdown", *as_markdown, "Render as docs/configuration.md");
  defaults->callback([&context, as_markdown] {
    context.action = [as_markdown] {
      std::fputs((*as_markdown ? ConfigurationMarkdown() : ConfigurationText()).c_str(), stdout);
      return 0;
    };
  });
}

}  // namespace alluvium::cli
