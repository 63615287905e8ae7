# Shared by the host-side scripts (capture-kernel-trace.sh, kernel-ab/run.sh): their
# messages, --help and option checks. Source it after setting PROG.
# shellcheck shell=bash

die() { echo "$PROG: error: $*" >&2; exit 1; }
say() { echo "$PROG: $*" >&2; }
# --help prints the script's leading comment block, up to `set -euo`.
usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; }
need_arg() { [ $# -ge 2 ] && [ -n "$2" ] || die "option $1 needs a value (see --help)"; }
is_uint() { [[ $1 =~ ^[0-9]+$ ]]; }
