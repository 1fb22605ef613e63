#include "cli/cli.h"

int main(int argc, char** argv) { return alluvium::cli::Run(argc, argv); }
