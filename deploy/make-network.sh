#!/usr/bin/env bash
# Make the keys and the signed roster of the five-node docker-compose network
# (deploy/docker-compose.yml), with the kp-node binary:
#
#   deploy/make-network.sh
#   cd deploy && docker compose up -d --build
#
# For each of cf, bw, eu, ae and in it makes deploy/network/<code>/keys/ (the
# authority key; CF also the MT-CF monitor key) and node-key.json (the node's
# libp2p identity), next to the committed kp-node.toml. The chair's key goes
# to deploy/network/chair/. It then writes the roster, has the chair sign it,
# copies the signed roster to every node as roster.json, and writes
# deploy/.env with your user and group ids for compose. None of these files is
# committed (deploy/.gitignore).
#
# Existing keys are kept, so running it again rewrites the same roster: the
# content is the same and Ed25519 signatures are deterministic. To start over,
# stop the network and delete deploy/network/chair and, in every node
# directory, keys/, node-key.json, roster.json and db/.
#
# Environment:
#   KP_NODE_BIN          the kp-node binary (default: kp-node on PATH)
#   KP_NETWORK_DIR       where the node directories are (default: network/
#                        beside this script)
#   KP_NETWORK           network id in the roster (default: kp-compose)
#   KP_P2P_ADDR_FORMAT   printf format of a node's roster address, given 11
#                        (cf) to 15 (in) (default: /ip4/172.28.0.%d/tcp/7171,
#                        the compose network). For a trial on one host without
#                        docker, /ip4/127.0.0.1/tcp/172%d gives ports 17211-17215.
#
# Needs only bash and coreutils (no jq, no python).

set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
net=${KP_NETWORK_DIR:-$here/network}
bin=${KP_NODE_BIN:-kp-node}
network=${KP_NETWORK:-kp-compose}
addr_format=${KP_P2P_ADDR_FORMAT:-/ip4/172.28.0.%d/tcp/7171}

# The participants: directory, code, name, zone regime, last octet of the
# node's address on the compose network.
dirs=(cf bw eu ae in)
codes=(CF BW EU AE IN)
names=("Central African Republic" "Botswana" "European Union" "United Arab Emirates" "India")
zone_regime=(true false false false false)
octets=(11 12 13 14 15)
monitor=MT-CF          # held by the CF node, scope CF

die() {
    echo "make-network: $*" >&2
    exit 1
}

command -v "$bin" >/dev/null 2>&1 || die "no kp-node binary: put it on PATH or set KP_NODE_BIN"
mkdir -p "$net"

# The "public" field of a key file ({"public": "<hex>", "secret": "<hex>"}).
public_key() {
    local key
    key=$(sed -n 's/.*"public"[[:space:]]*:[[:space:]]*"\([0-9a-fA-F]*\)".*/\1/p' "$1" | head -n 1)
    [[ $key =~ ^[0-9a-fA-F]{64}$ ]] || die "$1: no 64-digit public key in it"
    printf '%s' "$key" | tr 'A-F' 'a-f'
}

# Make a node's keys with `kp-node init`. init refuses a directory that already
# has a kp-node.toml (the committed one), so it runs in a scratch directory and
# the keys are moved in; mv keeps their 0600 mode.
make_keys() {
    local dir=$1 code=$2 scratch
    shift 2
    if [[ -e $dir/keys/authority-$code.json ]]; then
        echo "  $code: keeping the keys in $dir/keys"
        return
    fi
    [[ -e $dir/keys ]] && die "$dir/keys exists without authority-$code.json: move it away first"
    scratch=$(mktemp -d)
    "$bin" init --data "$scratch/node" --participant "$code" "$@" >/dev/null \
        || { rm -rf "$scratch"; die "kp-node init failed for $code"; }
    mkdir -p "$dir"
    mv "$scratch/node/keys" "$dir/keys"
    # init makes the node identity too; keep an existing one.
    if [[ ! -e $dir/node-key.json ]]; then
        mv "$scratch/node/node-key.json" "$dir/node-key.json"
    fi
    if [[ ! -e $dir/kp-node.toml ]]; then
        # Not a checkout: write the container settings the committed files hold.
        cat >"$dir/kp-node.toml" <<'EOF'
http = "0.0.0.0:7070"
roster = "roster.json"

[p2p]
enabled = true
listen = ["/ip4/0.0.0.0/tcp/7171"]
bootstrap = []
sync_interval_secs = 5
EOF
    fi
    rm -rf "$scratch"
    echo "  $code: new keys in $dir/keys"
}

echo "keys:"
for i in "${!dirs[@]}"; do
    extra=()
    [[ ${codes[$i]} == CF ]] && extra=(--monitor "$monitor")
    # (the odd expansion keeps an empty array from tripping `set -u` in old bash)
    make_keys "$net/${dirs[$i]}" "${codes[$i]}" ${extra[@]+"${extra[@]}"}
done
chair_dir=$net/chair
if [[ -e $chair_dir/keys/chair.json ]]; then
    echo "  chair: keeping the key in $chair_dir/keys"
else
    [[ -e $chair_dir ]] && die "$chair_dir exists without keys/chair.json: move it away first"
    "$bin" init --data "$chair_dir" --chair >/dev/null || die "kp-node init failed for the chair"
    echo "  chair: new key in $chair_dir/keys"
fi
chair_key=$(public_key "$chair_dir/keys/chair.json")

# Each node's entry in the roster: its peer id and its one address.
node_json() {
    local dir=$1 octet=$2 peer addr
    peer=$("$bin" peer-id --data "$dir") || die "kp-node peer-id failed for $dir"
    [[ $peer =~ ^[1-9A-HJ-NP-Za-km-z]+$ ]] || die "$dir: unexpected peer id '$peer'"
    # shellcheck disable=SC2059 # the format is the point
    addr=$(printf "$addr_format" "$octet")
    printf '{"peer_id": "%s", "addrs": ["%s"]}' "$peer" "$addr"
}

participants=""
cf_node=""
echo "nodes:"
for i in "${!dirs[@]}"; do
    dir=$net/${dirs[$i]}
    code=${codes[$i]}
    node=$(node_json "$dir" "${octets[$i]}")
    authority=$(public_key "$dir/keys/authority-$code.json")
    [[ $code == CF ]] && cf_node=$node
    [[ -n $participants ]] && participants+=","
    participants+="
    {
      \"code\": \"$code\",
      \"name\": \"${names[$i]}\",
      \"authority\": \"$authority\",
      \"zone_regime\": ${zone_regime[$i]},
      \"nodes\": [$node]
    }"
    echo "  $code: $node"
done
monitor_key=$(public_key "$net/cf/keys/monitor-$monitor.json")

# serde's JSON of kp_schemas::model::Roster: keys as lower-case hex.
unsigned=$net/roster.unsigned.json
signed=$net/roster.signed.json
cat >"$unsigned" <<EOF
{
  "network": "$network",
  "version": 1,
  "chair": "$chair_key",
  "participants": [$participants
  ],
  "monitors": [
    {
      "id": "$monitor",
      "name": "Monitoring team $monitor",
      "key": "$monitor_key",
      "scope": ["CF"],
      "nodes": [$cf_node]
    }
  ],
  "observers": []
}
EOF

"$bin" sign-roster --chair-key "$chair_dir/keys/chair.json" --input "$unsigned" --out "$signed" >/dev/null \
    || die "kp-node sign-roster refused $unsigned"
echo "roster: $unsigned, signed as $signed"

for d in "${dirs[@]}"; do
    dir=$net/$d
    if [[ -e $dir/roster.json ]] && ! cmp -s "$signed" "$dir/roster.json"; then
        if [[ -e $dir/db ]]; then
            echo "  warning: $dir/roster.json changes, but $dir/db was made with the old roster:" >&2
            echo "           the node will refuse to start until db/ is removed (docs/OPERATING.md)" >&2
        fi
    fi
    cp "$signed" "$dir/roster.json"
done
echo "  copied to every node as roster.json"

# Compose runs the nodes as the owner of these files (docker-compose.yml).
printf 'KP_UID=%s\nKP_GID=%s\n' "$(id -u)" "$(id -g)" >"$here/.env"
echo "compose: $here/.env (KP_UID=$(id -u), KP_GID=$(id -g))"
echo "next: cd $here && docker compose up -d --build"
