# serve-backend.sh, sourced by the bench scripts: serve DIR [SERVE FLAGS...] starts the reference
# backend ($out/goldenpath, built by the caller) on a free loopback port with its data in DIR, and
# sets url and pid; it exits the script when the backend does not start. ${serve_pin} (e.g.
# "taskset -c 0"), when set, is put before the command.
serve() {
  local dir=$1
  shift
  ${serve_pin:-} "$out/goldenpath" serve --addr 127.0.0.1:0 --data "$dir/data" --hash-cost 4 --log-level warn "$@" >"$dir/serve.txt" 2>&1 &
  pid=$!
  url=""
  for _ in $(seq 100); do
    url="$(grep -o 'http://[0-9.:]*' "$dir/serve.txt" | head -1 || true)"
    [ -n "$url" ] && return 0
    sleep 0.1
  done
  echo "the backend did not start:"; cat "$dir/serve.txt"; exit 1
}
