#!/usr/bin/env bash
# Writes the seed corpus fuzz/corpus/<target>/ from the examples below (a
# few dozen small, valid and nearly valid inputs per target; protobuf
# requests are encoded from text with protoc). Re-running it rewrites the
# seeds named here and leaves other files alone: crash inputs committed as
# regression seeds (crash-*) stay.
set -euo pipefail
cd "$(dirname "$0")/.."
out=fuzz/corpus

seed() {  # target name bytes (printf format: \x.. escapes)
  mkdir -p "$out/$1"
  printf "$3" >"$out/$1/$2"
}
seeds() {  # target prefix lines...: one seed per line, as written
  local target=$1 prefix=$2 i=0
  shift 2
  for line in "$@"; do
    seed "$target" "$prefix-$i" "$line"
    i=$((i + 1))
  done
}

seeds target_url_fuzzer url \
  'https://example.com/hook' 'https://EXAMPLE.com:8443/a/b?x=1&y=%%2F' \
  'http://localhost:8080/' 'https://[::1]:443/p' 'https://[2001:db8::1]/x' \
  'https://127.0.0.1/' 'https://0x7f000001/' 'https://0177.0.0.1/' \
  'https://2130706433/' 'https://user:pw@example.com/' 'https://example.com./' \
  'https://example.com/#frag' 'https://exa mple.com/' 'https://example.com:/' \
  'https://example.com:65536/' 'https://[fe80::1%%25eth0]/' 'ftp://example.com/' \
  'https:example.com' '//example.com/' 'https://a-.com/' 'https://xn--bcher-kva.example/%%e2%%82%%ac' \
  'https://example.com/%%zz' 'https://[v1.fe]/' 'HTTPS://Example.COM'

seeds site_path_fuzzer site \
  '/' '' '/NOAA' '//NOAA/NWS/' '/NOAA/NWS/OUN' '/a/./b' '/a/../b' 'relative' \
  '/a b' '/a/b/c/d/e/f/g/h' '/~user/x_y.z-1' 'user' 'user.added' '*' \
  'Upper' 'system.Everyone' 'alice' 'al\xc3\xa9ce' 'bad\xff' 'Content-Type:application/json' \
  'X-Header:value\r\nInjected: 1' 'sub_01HZX3W4Y5Z6A7B8C9D0E1F2G3' 'alice\0bob\0alice' '\0'

seeds key_codec_fuzzer key \
  '\x00/\x00\x01user\x00\x01added\x00\x01sub_1\x00\x01' \
  '\x00/NOAA/\x00\x01user\x00\x01added\x00\x01sub_2\x00\x01' \
  '\x00a\x00\xffb\x00\x01id\x00\x01' \
  '\x01\x00\x00\x00\x00\x00\x00\x00\x07txn\x00\x01' \
  '\x01\x00\x00\x01\x8b\xcf\xe5\x68\x00dlv_1\x00\x01' \
  '\x02alice\x00\x01\x00\x00\x00\x00\x00\x00\x00\x01' \
  '\x00' '\x00\x00' '\x00\x00\x02' '\xff\x01\x02\x03\x04\x05\x06\x07'

seed page_token_fuzzer empty ''
seed page_token_fuzzer fp-only '\x01\x02\x03\x04\x05\x06\x07\x08'
seed page_token_fuzzer key '\x01\x02\x03\x04\x05\x06\x07\x08/NOAA/\x00\x01user\x00\x01'
seed page_token_fuzzer base64 '\x00\x00\x00\x00\x00\x00\x00\x00AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA'
seed page_token_fuzzer bad '\x00\x00\x00\x00\x00\x00\x00\x00!!!not-base64==='

seeds http_response_fuzzer response \
  'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nok' \
  'HTTP/2 204\r\n\r\n' \
  'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 503 Service Unavailable\r\nRetry-After: 120\r\n\r\nbusy' \
  'HTTP/1.1 429 Too Many Requests\r\nretry-after: Wed, 21 Oct 2015 07:28:00 GMT\r\n\r\n' \
  'HTTP/1.1 429 Slow\r\nRetry-After: Sun, 06 Nov 2094 08:49:37 GMT\r\n\r\n' \
  'HTTP/1.1 410 Gone\r\nX-Folded: a\r\n  b\r\n\r\n' \
  'HTTP/1.1 500 \xe9chec\r\nX-Latin: caf\xe9\r\n\r\nerr' \
  'HTTP/1.1 99999 Weird\r\n\r\n' 'HTTP/1.1\r\n\r\n' 'garbage\r\n\r\n' \
  'HTTP/1.1 301 Moved\r\nLocation: https://elsewhere.example/\r\n\r\n' \
  'HTTP/1.1 500 Error\r\nRetry-After: 99999999999999999999\r\nRetry-After: -1\r\n\r\n'

seeds config_fuzzer config \
  'listen_address: "127.0.0.1:7443"' \
  'tokens { token: "admin-token-0123456789" principal: "ops" roles: ADMIN }
tokens { token: "publisher-token-0123456" principal: "app" roles: PUBLISHER }
listen_address: "0.0.0.0:7443"' \
  'dialects { name: "zapier" representation: "zapier-webhook-delivery" }
subscriptions { site: "/" resource_type: "user" event_type: "added" target_url: "https://audit.example.com/users" dialect: "zapier" }' \
  'limits { max_page_size: 500 max_site_depth: 2 }
subscriptions { site: "/a/b/c" resource_type: "*" event_type: "*" target_url: "https://x.example/" }' \
  'delivery { allowed_cidrs: "10.0.0.0/8" allowed_cidrs: "::1/128" allowed_cidrs: "300.0.0.0/8" retry_schedule_seconds: 1 }' \
  'tls { cert_file: "server.pem" }' \
  'tokens { token: "short" principal: "x" roles: ADMIN }' \
  'allow_http_targets: true
subscriptions { id: "static-1" site: "/" resource_type: "a" event_type: "b" target_url: "http://127.0.0.1:9/" }
subscriptions { id: "static-1" site: "/" resource_type: "a" event_type: "b" target_url: "http://127.0.0.1:9/" }' \
  'storage { postgres { dsn: "host=db" } } cluster { node_id: "n1" lease_ttl_ms: 100 }' \
  'dialects { name: "d" headers { key: "X-A" value: "1" } signing: NONE envelope: STANDARD_WEBHOOKS_JSON }'

# RPC requests: [rpc][length LE16][bytes], rpc numbers as in fuzz/rpc_calls.cc.
rpc() {  # name rpc message text...
  local name=$1 number=$2 message=$3 text=$4
  local bytes
  bytes=$(printf '%s' "$text" | protoc -I protos --encode="webhooks.v1.$message" \
            protos/webhooks/v1/*.proto | od -An -v -tx1 | tr -d ' \n')
  local length=$(( ${#bytes} / 2 ))
  mkdir -p "$out/rpc_request_fuzzer"
  printf "$(printf '\\x%02x\\x%02x\\x%02x' "$number" $((length & 255)) $((length >> 8)))" \
    >"$out/rpc_request_fuzzer/$name"
  printf '%s' "$bytes" | xxd -r -p >>"$out/rpc_request_fuzzer/$name"
}
sub='subscription { site: "/NOAA" resource_type: "user" event_type: "added" target_url: "https://example.com/hook" }'
rpc create-subscription 0 CreateSubscriptionRequest "$sub"
rpc create-subscription-scoped 128 CreateSubscriptionRequest "$sub"
rpc create-subscription-bad 0 CreateSubscriptionRequest 'subscription { site: "a//b" resource_type: "U" event_type: "" target_url: "https://0x7f000001/" }'
rpc get-subscription 1 GetSubscriptionRequest 'id: "sub_01HZX3W4Y5Z6A7B8C9D0E1F2G3"'
rpc list-subscriptions 2 ListSubscriptionsRequest 'site: "/NOAA" include_descendants: true page_size: 2'
rpc update-subscription 3 UpdateSubscriptionRequest 'subscription { id: "sub_01HZX3W4Y5Z6A7B8C9D0E1F2G3" site: "/x" } update_mask { paths: "site" paths: "nope" }'
rpc deactivate-subscription 5 DeactivateSubscriptionRequest 'id: "sub_01HZX3W4Y5Z6A7B8C9D0E1F2G3" status_message: "bye"'
rpc delete-subscription 6 DeleteSubscriptionRequest 'id: "sub_x"'
rpc rotate-secret 7 RotateSubscriptionSecretRequest 'id: "sub_01HZX3W4Y5Z6A7B8C9D0E1F2G3"'
rpc create-dialect 8 CreateDialectRequest 'dialect { name: "zapier" representation: "zapier-webhook-delivery" headers { key: "X-A" value: "1" } }'
rpc get-dialect 9 GetDialectRequest 'name: "standard-webhooks"'
rpc list-dialects 10 ListDialectsRequest 'page_size: 1'
rpc update-dialect 11 UpdateDialectRequest 'dialect { name: "zapier" user_agent: "x" } update_mask { paths: "user_agent" }'
rpc delete-dialect 12 DeleteDialectRequest 'name: "zapier"'
rpc set-groups 13 SetPrincipalGroupsRequest 'principal_id: "alice" groups: "staff" groups: "staff"'
rpc get-principal 14 GetPrincipalRequest 'id: "alice"'
rpc delete-principal 15 DeletePrincipalRequest 'id: "alice" deactivate_only: true'
event='events { site: "/NOAA" resource_types: "user" event_types: "added" representations { key: "webhook-delivery" value { body: "{}" content_type: "application/json" } } acl { action: ALLOW principal: "system.Everyone" permission: "*" } }'
rpc prepare 16 PrepareRequest "transaction_id: \"t1\" $event ttl { seconds: 60 }"
rpc commit 17 CommitRequest 'transaction_id: "t1"'
rpc abort 18 AbortRequest 'transaction_id: "t1"'
rpc get-transaction 19 GetTransactionRequest 'transaction_id: "t1"'
rpc publish 20 PublishRequest "$event"
rpc publish-bad-time 20 PublishRequest 'events { site: "/" occur_time { seconds: 253402300800 nanos: 1000000000 } }'
rpc match 21 MatchSubscriptionsRequest "event { site: \"/NOAA\" resource_types: \"user\" event_types: \"added\" representations { key: \"webhook-delivery\" value { body: \"x\" } } }"
rpc list-attempts 22 ListAttemptsRequest 'subscription_id: "sub_01HZX3W4Y5Z6A7B8C9D0E1F2G3" status: 99'
rpc get-attempt 23 GetAttemptRequest 'subscription_id: "sub_01HZX3W4Y5Z6A7B8C9D0E1F2G3" attempt_id: "att_1"'
rpc get-delivery 24 GetDeliveryRequest 'delivery_id: "dlv_01HZX3W4Y5Z6A7B8C9D0E1F2G3"'
# A sequence: create, then list and publish against it.
cat "$out/rpc_request_fuzzer/create-subscription" "$out/rpc_request_fuzzer/list-subscriptions" \
    "$out/rpc_request_fuzzer/publish" >"$out/rpc_request_fuzzer/sequence-0"
cat "$out/rpc_request_fuzzer/create-dialect" "$out/rpc_request_fuzzer/create-subscription" \
    "$out/rpc_request_fuzzer/delete-dialect" "$out/rpc_request_fuzzer/prepare" \
    "$out/rpc_request_fuzzer/commit" >"$out/rpc_request_fuzzer/sequence-1"
echo "make-corpus: $(find "$out" -type f | wc -l) seeds in $out"
