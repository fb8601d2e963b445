#!/bin/sh
# Compiles the SQLite loadable-extension shim into $1/libpagestream_shim.so.
set -eu
out_dir=$1
src_dir=$(dirname "$0")
cc=${CC:-cc}
if ! command -v "$cc" >/dev/null 2>&1; then
  echo "pagestream: no C compiler found ('$cc'). Install one (Debian: apt-get install gcc) or set CC." >&2
  exit 1
fi
mkdir -p "$out_dir"
"$cc" -O2 -fPIC -shared -fvisibility=hidden -Wall -Werror -I"$src_dir/include" \
  -o "$out_dir/libpagestream_shim.so" "$src_dir/pagestream_shim.c"
