# Shell helpers the dev cluster, the lab, the demo and the benchmarks share. Source it; set `log_name` first.
# Processes started with `daemon` are recorded as $state/NAME.pid and log to $state/NAME.log.

log() { echo "${log_name:-herald}: $*" >&2; }
die() { log "$*"; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null 2>&1; then sudo "$@"; else
    die "needs root for: $*"
  fi
}

# Starts a daemon in its own session with only stdin, stdout and stderr: a descriptor the caller left open (a
# test runner's pipe) must not be held by the daemon, or the caller waits for it forever.
#   daemon STATE_DIR NAME COMMAND…
daemon() {
  local state=$1 name=$2
  shift 2
  (
    for fd in /proc/self/fd/*; do fd=${fd##*/}; [ "$fd" -gt 2 ] && eval "exec $fd>&-"; done 2>/dev/null
    exec setsid "$@" >>"$state/$name.log" 2>&1 </dev/null
  ) &
  echo $! >"$state/$name.pid"
}

# Whether PID is a live process. A killed daemon whose parent is gone stays a zombie until PID 1 reaps it,
# and some container inits take seconds to: a zombie counts as gone.
alive() { local state; state=$(ps -o stat= -p "$1" 2>/dev/null) && [ -n "$state" ] && [[ "$state" != Z* ]]; }

#   running STATE_DIR NAME
running() { [ -f "$1/$2.pid" ] && alive "$(cat "$1/$2.pid")"; }

# SIGTERM (or the given signal), then waits up to 5 s for the exit before SIGKILL.
#   stop_process STATE_DIR NAME [SIGNAL]
stop_process() {
  local state=$1 name=$2 signal=${3:-TERM}
  if running "$state" "$name"; then
    local pid
    pid=$(cat "$state/$name.pid")
    kill "-$signal" "$pid" 2>/dev/null || true
    for _ in $(seq 50); do alive "$pid" || break; sleep 0.1; done
    if alive "$pid"; then kill -9 "$pid" 2>/dev/null || true; fi
  fi
  rm -f "$state/$name.pid"
}

# Polls COMMAND every 0.1 s until it succeeds, for at most SECONDS.
#   wait_until SECONDS DESCRIPTION COMMAND…
wait_until() {
  local limit=$1 what=$2
  shift 2
  local tries=$((limit * 10))
  for _ in $(seq "$tries"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  log "gave up after ${limit}s waiting for $what"
  return 1
}

# Debian packages: whether one is installed, and installing those of a list that are not (as root).
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

ensure_packages() {
  local missing=() package
  for package in "$@"; do installed "$package" || missing+=("$package"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}
