#!/usr/bin/env bash
# The demo: a local VM container (systemd as PID 1, its own Docker engine), provisioned
# by playbooks/provision.yml and running the sample app, reachable from this machine
# through Caddy on https://localhost:${BERTH_DEMO_PORT:-8443}/ (Caddy's internal CA).
#
#   tests/demo.sh up | down
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
NAME=${BERTH_DEMO_NAME:-berth-demo}
PORT=${BERTH_DEMO_PORT:-8443}
IMAGE=${BERTH_DEMO_IMAGE:-berth/vm-docker:trixie}
export PATH="$ROOT/.venv/bin:$PATH"
: "${ANSIBLE_COLLECTIONS_PATH:=$ROOT/.build/collections}"
export ANSIBLE_COLLECTIONS_PATH ANSIBLE_CONFIG=$ROOT/ansible.cfg

up() {
  if [ "$(docker inspect -f '{{.State.Running}}' "$NAME" 2>/dev/null)" != true ]; then
    docker rm -f "$NAME" >/dev/null 2>&1 || true
    echo "[demo] starting the VM container $NAME"
    docker run -d --name "$NAME" --hostname "$NAME" \
      --cap-add SYS_ADMIN --cap-add NET_ADMIN \
      --security-opt seccomp=unconfined --security-opt apparmor=unconfined \
      --cgroupns=host -v /sys/fs/cgroup:/sys/fs/cgroup:rw --tmpfs /run --tmpfs /run/lock \
      -p "127.0.0.1:$PORT:443" "$IMAGE" /lib/systemd/systemd >/dev/null
  fi
  for _ in $(seq 1 60); do  # systemd answers on its bus a moment after PID 1 starts
    state=$(docker exec "$NAME" systemctl is-system-running --wait 2>/dev/null) && break
    case "$state" in running|degraded) break ;; esac
    sleep 1
  done
  # The demo inventory's secrets are vault-encrypted; its password file is demo-only.
  export ANSIBLE_VAULT_PASSWORD_FILE=$ROOT/inventories/demo/vault-password.txt
  ansible-playbook -i "$ROOT/inventories/demo" "$ROOT/tests/fixtures/ship.yml"
  # The operator's command, as the README gives it:
  ansible-playbook berth.compose.provision -i "$ROOT/inventories/demo"
  # ... and the daily one: deploy the inventory's ref (a no-op when provision just started it).
  ansible-playbook berth.compose.deploy -i "$ROOT/inventories/demo"
  echo
  echo "[demo] the sample app runs in the VM container $NAME:"
  docker exec "$NAME" docker compose -p sample ps --format 'table {{.Service}}\t{{.Status}}'
  echo "[demo] try:  curl -k https://localhost:$PORT/                 (web, through Caddy in the VM)"
  echo "[demo]       docker exec -it $NAME bash                  (a shell on the VM)"
  echo "[demo] stop: make demo-down"
}

down() {
  docker rm -f "$NAME" >/dev/null 2>&1 && echo "[demo] removed $NAME" || echo "[demo] nothing to remove"
}

case "${1:-up}" in
  up) up ;;
  down) down ;;
  *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
