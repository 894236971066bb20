#!/usr/bin/env bash
# The demo: a local VM container (systemd as PID 1, its own Docker engine, sshd) reached over
# real SSH on 127.0.0.1:${BERTH_DEMO_SSH_PORT:-2222}, provisioned by playbooks/provision.yml and
# running the sample app, reachable from this machine through Caddy on
# https://localhost:${BERTH_DEMO_PORT:-8443}/ (Caddy's internal CA).
#
#   tests/demo.sh up | down | ssh [command] | change SERVICE
#
# `change SERVICE` (make demo-change SERVICE=web): after `up`, commits a visible one-line change to
# SERVICE (one of the sample app's services that build: a directory of tests/fixtures/app with a
# Dockerfile) on the branch demo-change of the demo's git server (the VM's /srv/fixtures/sample.git,
# the inventory's berth_repo_url), and prints the commands that deploy it, show it and roll it back.
#
# What it makes, removed by `down`: the container $NAME and .build/demo/ (the demo's SSH key pair, the
# pinned host key in known_hosts, env: the shell settings the README's commands assume).
# SSH is never told to accept an unknown host key: the VM's host key is read from the
# container (the out-of-band channel a cloud console would be) and pinned before the first
# connection; a changed key fails the connection.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
NAME=${BERTH_DEMO_NAME:-berth-demo}
PORT=${BERTH_DEMO_PORT:-8443}
SSH_PORT=${BERTH_DEMO_SSH_PORT:-2222}
IMAGE=${BERTH_DEMO_IMAGE:-berth/vm-ssh:trixie}
STATE=$ROOT/.build/demo
INVENTORY=$ROOT/inventories/demo
export PATH="$ROOT/.venv/bin:$PATH"
: "${ANSIBLE_COLLECTIONS_PATH:=$ROOT/.build/collections}"
export ANSIBLE_COLLECTIONS_PATH ANSIBLE_CONFIG=$ROOT/ansible.cfg
# The demo inventory's secrets are vault-encrypted; its password file is demo-only.
export ANSIBLE_VAULT_PASSWORD_FILE=$INVENTORY/vault-password.txt
export BERTH_DEMO_SSH_PORT=$SSH_PORT

log() { printf '[demo] %s\n' "$*"; }

# The VM-with-Docker image plus an SSH server, built by the platform (tests/images/platform.sh).
build_image() {
  docker image inspect "$IMAGE" >/dev/null 2>&1 && return
  log "building $IMAGE (tests/images/platform.sh, once; cached by tag)"
  "$ROOT/tests/images/platform.sh"
}

start_vm() {
  if [ "$(docker inspect -f '{{.State.Running}}' "$NAME" 2>/dev/null)" = true ]; then return; fi
  docker rm -f "$NAME" >/dev/null 2>&1 || true
  rm -f "$STATE/known_hosts"
  log "starting the VM container $NAME (ssh on 127.0.0.1:$SSH_PORT)"
  docker run -d --name "$NAME" --hostname "$NAME" \
    --cap-add SYS_ADMIN --cap-add NET_ADMIN \
    --security-opt seccomp=unconfined --security-opt apparmor=unconfined \
    --cgroupns=host -v /sys/fs/cgroup:/sys/fs/cgroup:rw --tmpfs /run --tmpfs /run/lock \
    -p "127.0.0.1:$PORT:443" -p "127.0.0.1:$SSH_PORT:22" "$IMAGE" /lib/systemd/systemd >/dev/null
}

wait_vm() {
  local state
  for _ in $(seq 1 60); do  # systemd answers on its bus a moment after PID 1 starts
    state=$(docker exec "$NAME" systemctl is-system-running --wait 2>/dev/null) && break
    case "$state" in running|degraded) break ;; esac
    sleep 1
  done
  docker exec "$NAME" systemctl is-active --quiet ssh.service \
    || { docker exec "$NAME" systemctl status ssh.service >&2 || true; log "sshd did not start in $NAME"; exit 1; }
}

# What a cloud image's first boot (cloud-init) does: an operator account with the demo key and
# passwordless sudo. Idempotent: run on every `up`.
bootstrap_access() {
  mkdir -p "$STATE"
  chmod 700 "$STATE"
  [ -f "$STATE/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C "berth-demo operator" -f "$STATE/id_ed25519"
  docker exec -i "$NAME" sh -euc '
    id ops >/dev/null 2>&1 || useradd -m -s /bin/bash ops
    install -d -m 700 -o ops -g ops ~ops/.ssh
    cat >~ops/.ssh/authorized_keys
    chown ops:ops ~ops/.ssh/authorized_keys && chmod 600 ~ops/.ssh/authorized_keys
    echo "ops ALL=(ALL) NOPASSWD: ALL" >/etc/sudoers.d/ops && chmod 440 /etc/sudoers.d/ops' <"$STATE/id_ed25519.pub"
  # Pin the host keys the VM generated, read through the container (not over the network).
  docker exec "$NAME" sh -c 'cat /etc/ssh/ssh_host_*_key.pub' \
    | awk -v host="[127.0.0.1]:$SSH_PORT" '{print host, $1, $2}' >"$STATE/known_hosts.new"
  mv "$STATE/known_hosts.new" "$STATE/known_hosts"
  # The settings the README's commands assume, for an operator's shell: `. .build/demo/env`
  cat >"$STATE/env" <<ENV
export PATH="$ROOT/.venv/bin:\$PATH"
export ANSIBLE_COLLECTIONS_PATH="$ANSIBLE_COLLECTIONS_PATH" ANSIBLE_CONFIG="$ROOT/ansible.cfg"
export ANSIBLE_VAULT_PASSWORD_FILE="$INVENTORY/vault-password.txt" BERTH_DEMO_SSH_PORT=$SSH_PORT
ENV
  local ok=false
  for _ in $(seq 1 20); do
    if ssh_vm true 2>/dev/null; then ok=true; break; fi
    sleep 0.5
  done
  $ok || { ssh_vm true; exit 1; }
}

ssh_vm() {
  ssh -p "$SSH_PORT" -i "$STATE/id_ed25519" -o IdentitiesOnly=yes -o BatchMode=yes \
    -o StrictHostKeyChecking=yes -o UserKnownHostsFile="$STATE/known_hosts" ops@127.0.0.1 "$@"
}

# Runs a playbook, shows its output, and adds its recap's changed= count to CHANGED.
CHANGED=0
play() {
  local out="$STATE/last-play.log" n
  ansible-playbook -i "$INVENTORY" "$@" | tee "$out"
  n=$(awk '/^PLAY RECAP/ {r=1; next} r && /changed=/ {sub(/.*changed=/, ""); s += $1} END {print s + 0}' "$out")
  CHANGED=$((CHANGED + n))
}

up() {
  local t0 rerun=false
  t0=$(date +%s)
  build_image
  [ "$(docker inspect -f '{{.State.Running}}' "$NAME" 2>/dev/null)" = true ] && rerun=true
  start_vm
  wait_vm
  bootstrap_access
  cd "$ROOT"
  # Ship what an air-gapped VM cannot fetch (the repository and the app's base image).
  play tests/fixtures/ship.yml --become
  # The operator's commands, as the README gives them:
  play berth.compose.provision
  # ... and the daily one: deploy the inventory's ref (a no-op when provision just started it).
  play berth.compose.deploy
  echo
  log "deploy summary (the release log's last record):"
  ssh_vm "sudo tail -n 1 /opt/sample/releases.jsonl" | python3 -c 'import json, sys
r = json.load(sys.stdin)
print("  %s %s: %s -> %s, outcome %s, serving %s" % (r.get("kind"), r.get("ref"), (r.get("from_commit") or "nothing")[:12],
      r.get("to_commit", "")[:12], r.get("outcome"), r.get("serving_commit", "")[:12]))
print("  built: %s; recreated: %s; at %s" % (", ".join(r.get("services_built") or []) or "-",
      ", ".join(r.get("services_recreated") or []) or "-", r.get("started") or r.get("time") or "?"))'
  log "the sample app runs in the VM container $NAME:"
  ssh_vm 'sudo docker compose -p sample ps --format "table {{.Service}}\t{{.Status}}"'
  log "over SSH:   ssh -p $SSH_PORT -i .build/demo/id_ed25519 -o UserKnownHostsFile=.build/demo/known_hosts ops@127.0.0.1"
  log "the app:    curl -k https://localhost:$PORT/            (web, through Caddy in the VM)"
  log "commands:   . .build/demo/env && ansible-playbook berth.compose.verify -i inventories/demo   (see README)"
  log "stop:       make demo-down"
  log "$([ "$rerun" = true ] && echo rerun || echo fresh) up in $(($(date +%s) - t0)) s, changed=$CHANGED"
  if [ "$rerun" = true ] && [ "$CHANGED" != 0 ]; then
    log "ERROR: a rerun changed $CHANGED things; it must change nothing"
    exit 1
  fi
}

down() {
  # The container with its volumes (the app, its images, its data), the key pair, the pinned
  # host key and the benchmark's scratch files. The image stays cached, like the platform's.
  if docker rm -f -v "$NAME" >/dev/null 2>&1; then log "removed $NAME"; else log "no container $NAME"; fi
  rm -rf "$STATE" "$ROOT/.build/bench"
  log "kept the cached image $IMAGE (docker image rm $IMAGE removes it)"
}

# The sample app's services that build (a directory with a Dockerfile), space-separated.
buildable_services() {
  local dir out=""
  for dir in "$ROOT"/tests/fixtures/app/*/; do
    [ -f "$dir/Dockerfile" ] && out="$out $(basename "$dir")"
  done
  echo "${out# }"
}

change() {
  local service=${1:-} services result n commit file line see
  services=$(buildable_services)
  if [ -z "$service" ]; then
    log "ERROR: SERVICE is not set: make demo-change SERVICE=web (one of: ${services// /, })"
    exit 2
  fi
  case " $services " in
    *" $service "*) ;;
    *) log "ERROR: SERVICE=$service is not a service of the sample app that builds (one of: ${services// /, })"; exit 2 ;;
  esac
  if [ "$(docker inspect -f '{{.State.Running}}' "$NAME" 2>/dev/null)" != true ] || [ ! -f "$STATE/known_hosts" ]; then
    log "ERROR: the demo VM $NAME is not running: run make demo first"
    exit 2
  fi
  # On the VM, as root (the git server's owner): a clone of demo-change (of main the first time), one
  # line changed, committed and pushed. Prints: N, the commit, the file, the line.
  result=$(ssh_vm sudo bash -s -- "$service" <<'VM'
set -euo pipefail
service=$1 repo=/srv/fixtures/sample.git branch=demo-change
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
base=main
git -C "$repo" rev-parse -q --verify "refs/heads/$branch" >/dev/null && base=$branch
git clone -q -b "$base" "$repo" "$work/app"
cd "$work/app"
n=$(( $(git rev-list --count main..HEAD) + 1 ))
stamp=$(date -u '+%Y-%m-%d %H:%M:%S UTC')
before() {  # before FILE PATTERN LINE: LINE goes in just before the first line matching PATTERN
  L=$3 awk -v pattern="$2" '!done && $0 ~ pattern { print ENVIRON["L"]; done = 1 } { print }' "$1" >"$1.new"
  cat "$1.new" >"$1" && rm "$1.new"
}
case $service in
  web) file=web/www/index.html line="<p class=\"change\">demo change $n, $stamp</p>"; printf '%s\n' "$line" >>"$file" ;;
  api) file=api/serve.sh line="printf 'demo change $n, $stamp\\n' > /www/change"; before "$file" '^exec httpd' "$line" ;;
  worker) file=worker/work.sh line="echo \"worker: demo change $n, $stamp\""; before "$file" '^while :; do' "$line" ;;
  migrate) file=migrate/migrate.sh line="echo \"migrate: demo change $n, $stamp\""; before "$file" '^echo "migrations applied' "$line" ;;
  *) file=$(find "$service" -type f ! -name Dockerfile | sort | head -n 1) line="# demo change $n, $stamp"; printf '%s\n' "$line" >>"$file" ;;
esac
git -c user.name="berth demo" -c user.email=demo@berth.invalid commit -q -am "$service: demo change $n"
git push -q origin "HEAD:refs/heads/$branch"
printf '%s\n%s\n%s\n%s\n' "$n" "$(git rev-parse HEAD)" "$file" "$line"
VM
)
  { read -r n; read -r commit; read -r file; read -r line; } <<<"$result"
  case $service in
    web) see="curl -k https://localhost:$PORT/                                  # the new line at the end of the page" ;;
    api) see="tests/demo.sh ssh curl -s http://127.0.0.1:8081/change          # the api serves it" ;;
    *) see="tests/demo.sh ssh sudo docker logs sample-$service-1              # the new line in its output" ;;
  esac
  log "committed demo change $n to $service on the demo's git server: branch demo-change at ${commit:0:12}"
  log "  $file: + $line"
  log "next, from the checkout:"
  cat <<NEXT
    . .build/demo/env
    ansible-playbook berth.compose.deploy   -i inventories/demo -e ref=demo-change --check --diff   # the plan only
    ansible-playbook berth.compose.deploy   -i inventories/demo -e ref=demo-change                  # ship it
    $see
    ansible-playbook berth.compose.rollback -i inventories/demo -e ref=previous -e "note='undo demo change $n'"
    ansible-playbook berth.compose.releases -i inventories/demo -e limit=3
NEXT
}

case "${1:-up}" in
  up) up ;;
  down) down ;;
  ssh) shift; ssh_vm "$@" ;;
  change) change "${2:-}" ;;
  *) echo "usage: $0 up|down|ssh [command]|change SERVICE" >&2; exit 2 ;;
esac
