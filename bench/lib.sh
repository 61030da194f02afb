# Shared by the bench scripts (source it): the counting server and batches.

# start_server: starts examples/bench/server.rs on a free port in $tmp
# (made here), sets $server and $base, and cleans both up on exit, along
# with anything in $cleanup (e.g. a tmux session to kill).
start_server() {
  tmp=$(mktemp -d)
  target/release/examples/bench server 0 >"$tmp/addr" &
  server=$!
  trap 'kill $server 2>/dev/null; eval "${cleanup:-}"; rm -rf "$tmp"' EXIT
  for _ in $(seq 50); do [ -s "$tmp/addr" ] && break; sleep 0.1; done
  base=$(head -n1 "$tmp/addr")
}

# ok_batch FILE N: N GETs of /ok from a range.
ok_batch() {
  printf '{"requests": [{"url": "/ok", "for_each": {"i": {"range": [0, %d]}}}]}\n' "$2" >"$1"
}
