// Renders the key table (AllKeys) for people: plain text for `alluvium conf defaults` and
// Markdown for docs/configuration.md, which a test keeps equal to this output.
#pragma once

#include <string>

namespace alluvium {

std::string ConfigurationText();
std::string ConfigurationMarkdown();

}  // namespace alluvium
