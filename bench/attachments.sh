#!/usr/bin/env bash
# One large sealed attachment (default 100 MB of plaintext, 133 MB as JWE)
# uploaded and downloaded through the release server with keep-alive curl,
# on each attachment store (file, database) and engine (SQLite; PostgreSQL
# when installed: a throwaway cluster). Prints MB/s each way, whether the
# download is byte for byte the upload, and the server's peak RSS (memory
# per upload is bounded: a 256 KiB chunk in the database store, a pipe of
# writes in the file store). Figures only.
# Env: BENCH_ATTACHMENT_MB (plaintext MB, default 100).
set -euo pipefail
mb=${BENCH_ATTACHMENT_MB:-100}
bin=${AMTSWEG_BIN:-build/release/amtsweg}
root=$(pwd)
jose_mod="$root/tests/node/node_modules/jose/dist/webapi/index.js"
if [ ! -f "$jose_mod" ] || ! command -v node >/dev/null; then
  echo "skipped: node and the jose package (tests/node, installed by make check) are needed"
  exit 0
fi
tmp=$(mktemp -d)
chmod 755 "$tmp"
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
cleanup() {
  kill $(jobs -p) 2>/dev/null || true
  [ -d "$tmp/pg" ] && pg pg_ctl -D "$tmp/pg" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT

pg() { # pg_ctl / initdb as the user postgres when we are root
  local cmd=$1
  shift
  if [ "$(id -u)" = 0 ]; then (cd / && runuser -u postgres -- "$pgbin/$cmd" "$@"); else "$pgbin/$cmd" "$@"; fi
}

# the sealed attachment, for the TEST-ONLY destination key a
cat >"$tmp/seal.mjs" <<EOF
import * as jose from '$jose_mod';
import fs from 'fs';
const jwk = JSON.parse(fs.readFileSync('$root/tests/data/jose/a/enc.public.jwk'));
delete jwk.key_ops;
const key = await jose.importJWK(jwk, 'RSA-OAEP-256');
const pt = Buffer.alloc(parseInt(process.argv[2]) * 1000 * 1000, 'x');
const jwe = await new jose.CompactEncrypt(pt)
  .setProtectedHeader({alg: 'RSA-OAEP-256', enc: 'A256GCM', kid: jwk.kid, cty: 'application/pdf'})
  .encrypt(key);
fs.writeFileSync(process.argv[3], jwe);
EOF
node --max-old-space-size=8000 "$tmp/seal.mjs" "$mb" "$tmp/att.jwe"
node "$tmp/seal.mjs" 0 "$tmp/small.jwe"
size=$(stat -c %s "$tmp/att.jwe")
echo "attachment: $mb MB plaintext, $((size / 1000000)) MB sealed"

json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

run() { # engine store
  local engine=$1 store=$2 db w="$tmp/w" port pid
  rm -rf "$w"
  mkdir -p "$w"
  if [ "$engine" = postgres ]; then
    db="postgres://postgres@127.0.0.1:$pgport/postgres"
  else
    db="$w/amtsweg.db"
  fi
  AMTSWEG_ADMIN_TOKEN=bench-admin-token-0123456789 "$bin" serve --listen 127.0.0.1:0 --db "$db" \
    --var-dir "$w/var" --attachment-store "$store" --log-level warn >"$w/out" 2>"$w/err" &
  pid=$!
  port=
  for _ in $(seq 1 200); do
    port=$(grep -o 'listening on[^0-9]*[0-9.]*:[0-9]*' "$w/out" 2>/dev/null | grep -o '[0-9]*$' || true)
    [ -n "$port" ] && break
    kill -0 $pid 2>/dev/null || { cat "$w/err"; return 1; }
    read -rt 0.05 <> <(:) || true
  done
  local u="http://127.0.0.1:$port" admin="Authorization: Bearer bench-admin-token-0123456789"
  local ct='Content-Type: application/json'
  local enc sig dest sender subscriber stok ptok sid aid=2b0e7c1c-2c7a-4e55-9a0e-6f1a4a5a0001
  enc=$(cat tests/data/jose/a/enc.public.jwk)
  sig=$(cat tests/data/jose/a/sig.public.jwk)
  dest=$(curl -sf -H "$admin" -H "$ct" -d "{\"status\":\"active\",\"encryptionPublicKey\":$enc,\
\"signingPublicKey\":$sig,\"services\":[{\"identifier\":\"99123456789012\",\"regions\":[\"09\"],\
\"submissionSchemas\":[{\"schemaUri\":\"urn:x\",\"mimeType\":\"application/json\"}]}]}" \
    "$u/admin/v1/destinations" | json '["destinationId"]')
  sender=$(curl -sf -H "$admin" -H "$ct" -d '{"kind":"sender","name":"bench"}' "$u/admin/v1/clients")
  subscriber=$(curl -sf -H "$admin" -H "$ct" \
    -d "{\"kind\":\"subscriber\",\"name\":\"bench\",\"destinations\":[\"$dest\"]}" "$u/admin/v1/clients")
  token() { # client JSON -> access token
    local id secret
    id=$(echo "$1" | json '["clientId"]')
    secret=$(echo "$1" | json '["clientSecret"]')
    curl -sf -d "grant_type=client_credentials&client_id=$id&client_secret=$secret" "$u/token" |
      json '["access_token"]'
  }
  stok=$(token "$sender")
  ptok=$(token "$subscriber")
  sid=$(curl -sf -H "Authorization: Bearer $stok" -H "$ct" -d "{\"destinationId\":\"$dest\",\
\"announcedAttachments\":[\"$aid\"],\"serviceType\":{\"identifier\":\"99123456789012\"}}" \
    "$u/v1/submissions" | json '["submissionId"]')
  local t0 t1 t2 t3 st1 st2 st3 same rss
  t0=$(date +%s.%N)
  st1=$(curl -s -o /dev/null -w '%{http_code}' -X PUT -H "Authorization: Bearer $stok" \
    -H 'Content-Type: application/jose' --data-binary @"$tmp/att.jwe" "$u/v1/submissions/$sid/attachments/$aid")
  t1=$(date +%s.%N)
  printf '{"encryptedMetadata":"%s","encryptedData":"%s"}' "$(cat "$tmp/small.jwe")" \
    "$(cat "$tmp/small.jwe")" >"$w/body.json"
  st2=$(curl -s -o /dev/null -w '%{http_code}' -X PUT -H "Authorization: Bearer $stok" -H "$ct" \
    --data-binary @"$w/body.json" "$u/v1/submissions/$sid")
  t2=$(date +%s.%N)
  st3=$(curl -s -o "$w/down.jwe" -w '%{http_code}' -H "Authorization: Bearer $ptok" \
    "$u/v1/submissions/$sid/attachments/$aid")
  t3=$(date +%s.%N)
  cmp -s "$tmp/att.jwe" "$w/down.jwe" && same="identical" || same="DIFFERENT"
  rss=$(awk '/VmHWM/ {printf "%.1f", $2 / 1024}' /proc/$pid/status)
  kill $pid
  wait $pid || true
  awk -v s="$size" -v a="$t0" -v b="$t1" -v c="$t2" -v d="$t3" -v e="$engine" -v k="$store" \
    -v st="$st1/$st2/$st3" -v same="$same" -v rss="$rss" 'BEGIN {
      printf "%-10s %-8s upload %5.1f s %5.0f MB/s   download %5.1f s %5.0f MB/s   (%s, %s)   server peak RSS %s MiB\n",
        e, k, b - a, s / 1e6 / (b - a), d - c, s / 1e6 / (d - c), st, same, rss }'
}

run sqlite file
run sqlite database
if [ -n "$pgbin" ] && { [ "$(id -u)" != 0 ] || id postgres >/dev/null 2>&1; }; then
  mkdir -p "$tmp/pg"
  [ "$(id -u)" = 0 ] && chown postgres "$tmp/pg"
  pgport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  pg initdb -D "$tmp/pg" -U postgres -A trust >/dev/null
  pg pg_ctl -D "$tmp/pg" -o "-p $pgport -k $tmp/pg -c listen_addresses=127.0.0.1" -l "$tmp/pg/log" \
    -w start >/dev/null
  run postgres file
  run postgres database
  pg pg_ctl -D "$tmp/pg" -m fast stop >/dev/null
  rm -rf "$tmp/pg"
else
  echo "postgres: skipped (no PostgreSQL binaries or no postgres user)"
fi
