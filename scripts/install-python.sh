#!/usr/bin/env bash
# Builds the Python binding and installs the `alluvium` package with its fsspec entry point
# (`alluvium://`) for Debian's /usr/bin/python3, the interpreter that sees python3-fsspec and
# python3-torch. usage: scripts/install-python.sh [BUILD_DIR]
# ALLUVIUM_PYTHON_SITE: the site-packages dir to install into (default: /usr/local's, which
# /usr/bin/python3 searches).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build}
python=/usr/bin/python3

scripts/install-deps.sh
cmake -S . -B "$dir" -G Ninja >/dev/null
ninja -C "$dir" -j "${ALLUVIUM_BUILD_JOBS:-$(nproc)}" alluvium_native

site=${ALLUVIUM_PYTHON_SITE:-$("$python" -c 'import site; print(site.getsitepackages()[0])')}
SUDO=()
if [ ! -w "$(dirname "$site")" ] && [ "$(id -u)" -ne 0 ]; then SUDO=(sudo); fi
"${SUDO[@]}" mkdir -p "$site"
"${SUDO[@]}" rm -rf "$site/alluvium" "$site"/alluvium-*.dist-info
"${SUDO[@]}" cp -r "$dir/python/alluvium" "$dir"/python/alluvium-*.dist-info "$site/"
"${SUDO[@]}" rm -rf "$site/alluvium/__pycache__"
info=$(cd "$site" && ls -d alluvium-*.dist-info)
# What pip would record: the installed files (uninstall with `rm -r` of those two dirs).
(cd "$site" && find alluvium "$info" -type f | sort | sed 's/$/,,/') |
  "${SUDO[@]}" tee "$site/$info/RECORD" >/dev/null
echo "install-python.sh" | "${SUDO[@]}" tee "$site/$info/INSTALLER" >/dev/null

# From another directory, so that the installed package is the one imported.
(cd / && "$python" - <<'PY'
import fsspec, alluvium
assert fsspec.get_filesystem_class("alluvium") is alluvium.AlluviumFileSystem
print(f"install-python: alluvium {alluvium.__version__} for {fsspec.__name__} {fsspec.__version__}"
      f" at {alluvium.__path__[0]} (alluvium:// registered)")
PY
)
