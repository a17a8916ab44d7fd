# Shared helpers for Scripts/*; source it, do not run it.
repo_root() { cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd; }
ROOT=$(repo_root)
export PATH="/opt/swift/usr/bin:$PATH"

# Free TCP port on 127.0.0.1.
free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# start_nginx ROOT_DIR [DELAY_MS] -> sets NGINX_PORT, NGINX_DIR (access log:
# $NGINX_DIR/access.log). With DELAY_MS > 0, every response waits that long before its first
# byte (a cloud object store's time to first byte), without blocking nginx: the echo module's
# non-blocking echo_sleep, then an internal redirect to the static files (ranges served as
# usual). Loopback only; stopped by stop_nginx (registered on EXIT by the caller).
ECHO_MODULE=/usr/lib/nginx/modules/ngx_http_echo_module.so
start_nginx() {
  local docroot=$1 delay_ms=${2:-0}
  NGINX_DIR=$(mktemp -d /tmp/tandem-nginx.XXXXXX)
  NGINX_PORT=$(free_port)
  mkdir -p "$NGINX_DIR/tmp"
  local load_echo="" files_location="location / { }"
  if [[ "$delay_ms" != 0 ]]; then
    if [[ ! -f $ECHO_MODULE ]]; then
      echo "start_nginx: a delay needs nginx's echo module ($ECHO_MODULE, Debian libnginx-mod-http-echo)" >&2
      return 1
    fi
    load_echo="load_module $ECHO_MODULE;"
    files_location="location / { echo_sleep $(awk "BEGIN { printf \"%.3f\", $delay_ms / 1000 }"); echo_exec @files; }
    location @files { }"
  fi
  cat >"$NGINX_DIR/nginx.conf" <<CONF
$load_echo
worker_processes 1;
daemon on;
pid $NGINX_DIR/nginx.pid;
error_log $NGINX_DIR/error.log warn;
events { worker_connections 1024; }
http {
  access_log $NGINX_DIR/access.log combined;
  log_format ranges '\$request_method \$uri \$status \$bytes_sent "\$http_range" \$body_bytes_sent';
  access_log $NGINX_DIR/ranges.log ranges;
  client_body_temp_path $NGINX_DIR/tmp;
  proxy_temp_path $NGINX_DIR/tmp;
  fastcgi_temp_path $NGINX_DIR/tmp;
  uwsgi_temp_path $NGINX_DIR/tmp;
  scgi_temp_path $NGINX_DIR/tmp;
  types { application/json json; image/tiff tif tiff; }
  default_type application/octet-stream;
  sendfile on;
  keepalive_requests 100000;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    root $docroot;
    $files_location
  }
}
CONF
  /usr/sbin/nginx -c "$NGINX_DIR/nginx.conf" -p "$NGINX_DIR"
  for _ in $(seq 50); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$NGINX_PORT") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "nginx did not start; see $NGINX_DIR/error.log" >&2
  return 1
}

stop_nginx() {
  if [[ -n "${NGINX_DIR:-}" && -f "$NGINX_DIR/nginx.pid" ]]; then
    kill "$(cat "$NGINX_DIR/nginx.pid")" 2>/dev/null || true
    sleep 0.2
  fi
}
