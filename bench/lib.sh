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

# start_nginx HTTP_EXTRA SERVER_EXTRA: nginx (one worker) on a free port of
# 127.0.0.1, serving "ok" at /ok from $tmp/www (made here), with HTTP_EXTRA
# in its http block and SERVER_EXTRA in its server block; sets $tmp and
# $base, and stops it on exit. The folder is world-readable: nginx's worker
# runs as nobody, and a private one answered 403 to everything.
start_nginx() {
  command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || { echo "nginx not found (apt-get install nginx-light)" >&2; exit 1; }
  nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
  tmp=$(mktemp -d)
  chmod 755 "$tmp"
  local port=$((19000 + RANDOM % 900))
  mkdir -p "$tmp/www" "$tmp/logs"
  echo ok >"$tmp/www/ok"
  cat >"$tmp/nginx.conf" <<CONF
worker_processes 1;
pid $tmp/nginx.pid;
error_log $tmp/logs/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $tmp/body;
  proxy_temp_path $tmp/proxy;
  fastcgi_temp_path $tmp/fastcgi;
  uwsgi_temp_path $tmp/uwsgi;
  scgi_temp_path $tmp/scgi;
  $1
  server {
    listen 127.0.0.1:$port;
    root $tmp/www;
    $2
  }
}
CONF
  "$nginx_bin" -c "$tmp/nginx.conf" -p "$tmp" 2>/dev/null
  trap '"$nginx_bin" -c "$tmp/nginx.conf" -p "$tmp" -s stop 2>/dev/null; rm -rf "$tmp"' EXIT
  base="http://127.0.0.1:$port"
  for _ in $(seq 50); do curl -s -o /dev/null "$base/" && return; sleep 0.1; done
  echo "nginx did not start on $base" >&2
  exit 1
}
