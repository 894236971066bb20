#!/usr/bin/env bash
# The local test platform: a Docker engine that answers, and the cached images the
# Molecule scenarios and the demo boot. Safe to re-run: a running engine is left
# alone and an image that exists is not rebuilt (FORCE=1 rebuilds them).
#
#   berth/vm:trixie         Debian 13 with systemd as PID 1: a bare VM
#   berth/vm-docker:trixie  the same VM with docker.io, Compose v2, python3-docker, caddy,
#                           ansible-core and nftables preinstalled (VM_DOCKER_PACKAGES), for
#                           scenarios that are not about provisioning; rebuilt when that list
#                           changes (the image carries it as a label)
#   berth/vm-ssh:trixie     vm-docker plus an SSH server (host keys made at each container's first
#                           boot): the demo's VM and the operator scenario's, reached over real SSH
#   berth/app-base:1        busybox + sqlite3, the base of the sample app's images
#   berth/pg:1              Debian's postgresql (server, psql, pg_dump, pg_restore) on berth/vm, for the
#                           sample app's database overlay (compose.db.yaml); rebuilt when PG_PACKAGES changes
set -euo pipefail

SUITE=${BERTH_VM_SUITE:-trixie}
MIRROR=${BERTH_DEBIAN_MIRROR:-http://deb.debian.org/debian}
VM_IMAGE=berth/vm:$SUITE
VM_DOCKER_IMAGE=berth/vm-docker:$SUITE
VM_SSH_IMAGE=berth/vm-ssh:$SUITE
VM_DOCKER_PACKAGES="docker.io docker-cli docker-compose python3-docker caddy iptables ansible-core nftables"
APP_IMAGE=berth/app-base:1
PG_IMAGE=berth/pg:1
PG_PACKAGES="postgresql postgresql-client"
WORK=${BERTH_PLATFORM_WORK:-/var/tmp/berth-platform}
FORCE=${FORCE:-0}

log() { printf '[platform] %s\n' "$*" >&2; }
die() { printf '[platform] ERROR: %s\n' "$*" >&2; exit 1; }

need_root() {
  [ "$(id -u)" = 0 ] || die "must run as root (it installs packages and starts dockerd); try: sudo make $1"
}

apt_install() {
  command -v apt-get >/dev/null || die "apt-get not found: the platform needs Debian or Ubuntu to install $*"
  need_root platform
  log "installing $* from the distribution"
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null 2>&1; then
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
  fi
}

ensure_engine() {
  if docker info >/dev/null 2>&1; then
    log "Docker engine answers: leaving it alone"
    return
  fi
  command -v dockerd >/dev/null || apt_install docker.io
  command -v docker >/dev/null || apt_install docker.io
  need_root platform
  if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
    systemctl start docker || true
  fi
  if ! docker info >/dev/null 2>&1; then
    log "starting dockerd (log: /var/log/berth-dockerd.log)"
    # A session of its own: the engine must outlive the shell (and process group) that started it,
    # or the end of that job takes every VM container down with it.
    setsid nohup dockerd >/var/log/berth-dockerd.log 2>&1 < /dev/null &
  fi
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && { log "Docker engine is up"; return; }
    sleep 1
  done
  die "dockerd did not answer within 60 s; see /var/log/berth-dockerd.log"
}

have_image() { [ "$FORCE" != 1 ] && docker image inspect "$1" >/dev/null 2>&1; }

build_vm() {
  if have_image "$VM_IMAGE"; then log "$VM_IMAGE cached"; return; fi
  command -v debootstrap >/dev/null || apt_install debootstrap
  local rootfs="$WORK/rootfs-$SUITE"
  # An interrupted debootstrap leaves /proc (and others) mounted inside the old tree.
  { grep -o " $rootfs/[^ ]*" /proc/mounts || true; } | sort -r | xargs -r -n1 umount -l
  rm -rf "$rootfs"; mkdir -p "$rootfs"
  log "debootstrap $SUITE (about a minute)"
  debootstrap --variant=minbase \
    --include=python3,python3-apt,systemd,systemd-sysv,dbus,ca-certificates,sudo,git,curl,iproute2,procps,gnupg \
    "$SUITE" "$rootfs" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 \
    || die "debootstrap failed; see $WORK/debootstrap.log"
  # A container has no consoles or kernel modules to manage; these units only fail there.
  for unit in getty@tty1.service serial-getty@.service systemd-remount-fs.service \
              systemd-modules-load.service sys-kernel-config.mount; do
    ln -sf /dev/null "$rootfs/etc/systemd/system/$unit"
  done
  # Test platform only (not the roles): the nested engine fails every container with
  # "failed to disable IPv6 on container's interface" without this.
  mkdir -p "$rootfs/etc/systemd/system/docker.service.d"
  printf '[Service]\nEnvironment=DOCKER_ALLOW_IPV6_ON_IPV4_INTERFACE=1\n' \
    >"$rootfs/etc/systemd/system/docker.service.d/berth-test-platform.conf"
  : >"$rootfs/etc/machine-id"
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  tar -C "$rootfs" -c . | docker import \
    -c 'CMD ["/lib/systemd/systemd"]' -c 'ENV container=docker' \
    - "$VM_IMAGE" >/dev/null
  rm -rf "$rootfs"
  log "built $VM_IMAGE"
}

build_vm_docker() {
  local have
  have=$(docker image inspect -f '{{ index .Config.Labels "berth.packages" }}' "$VM_DOCKER_IMAGE" 2>/dev/null || true)
  if [ "$FORCE" != 1 ] && [ "$have" = "$VM_DOCKER_PACKAGES" ]; then log "$VM_DOCKER_IMAGE cached"; return; fi
  log "building $VM_DOCKER_IMAGE (apt installs inside a build container)"
  docker build -q -t "$VM_DOCKER_IMAGE" --build-arg "BASE=$VM_IMAGE" --build-arg "PACKAGES=$VM_DOCKER_PACKAGES" - >/dev/null <<'DOCKERFILE'
ARG BASE
FROM ${BASE}
ARG PACKAGES
LABEL berth.packages="${PACKAGES}"
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ${PACKAGES} \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb
CMD ["/lib/systemd/systemd"]
DOCKERFILE
  log "built $VM_DOCKER_IMAGE"
}

# Host keys are NOT baked into the image: every container generates its own at first boot
# (ssh-keygen -A before sshd starts). Rebuilt when vm-docker's package list changed (the label it inherits).
build_vm_ssh() {
  local have
  have=$(docker image inspect -f '{{ index .Config.Labels "berth.packages" }}' "$VM_SSH_IMAGE" 2>/dev/null || true)
  if [ "$FORCE" != 1 ] && [ "$have" = "$VM_DOCKER_PACKAGES" ]; then log "$VM_SSH_IMAGE cached"; return; fi
  log "building $VM_SSH_IMAGE: $VM_DOCKER_IMAGE + openssh-server"
  docker build -q -t "$VM_SSH_IMAGE" --build-arg "BASE=$VM_DOCKER_IMAGE" - >/dev/null <<'DOCKERFILE'
ARG BASE
FROM ${BASE}
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends openssh-server \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb /etc/ssh/ssh_host_* \
 && mkdir -p /etc/systemd/system/ssh.service.d \
 && printf '[Service]\nExecStartPre=\nExecStartPre=/usr/bin/ssh-keygen -A\nExecStartPre=/usr/sbin/sshd -t\n' \
      >/etc/systemd/system/ssh.service.d/berth-host-keys.conf \
 && printf 'PasswordAuthentication no\nKbdInteractiveAuthentication no\nPermitRootLogin no\n' \
      >/etc/ssh/sshd_config.d/berth-demo.conf \
 && systemctl enable ssh.service
CMD ["/lib/systemd/systemd"]
DOCKERFILE
  log "built $VM_SSH_IMAGE"
}

build_app_base() {
  if have_image "$APP_IMAGE"; then log "$APP_IMAGE cached"; return; fi
  [ -x /bin/busybox ] || apt_install busybox-static
  command -v sqlite3 >/dev/null || apt_install sqlite3
  local root="$WORK/app-base"
  rm -rf "$root"; mkdir -p "$root"/{bin,etc,tmp,www,data}
  cp /bin/busybox "$root/bin/busybox"
  for applet in $(/bin/busybox --list); do
    [ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"
  done
  # sqlite3 with the shared libraries it links against, at their own paths.
  cp "$(command -v sqlite3)" "$root/bin/sqlite3"
  for lib in $(ldd "$(command -v sqlite3)" | grep -oE '/[^ ]+'); do
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
  chmod 1777 "$root/tmp"
  tar -C "$root" -c . | docker import -c 'CMD ["/bin/sh"]' -c 'ENV PATH=/bin' - "$APP_IMAGE" >/dev/null
  rm -rf "$root"
  log "built $APP_IMAGE"
}

# A PostgreSQL server from Debian's packages (no registry image reaches these machines): installed
# with apt in a build stage, then only its binaries (server, psql, pg_dump, pg_restore, pg_isready),
# their libraries and share files are copied onto berth/app-base:1 (busybox), so the image stays
# small to ship into a VM. The entry point initialises the cluster on first start (trust auth
# inside the compose network: a test fixture) and runs postgres in the foreground (`berth-pg init`
# only initialises).
build_pg() {
  local have
  have=$(docker image inspect -f '{{ index .Config.Labels "berth.packages" }}' "$PG_IMAGE" 2>/dev/null || true)
  if [ "$FORCE" != 1 ] && [ "$have" = "$PG_PACKAGES" ]; then log "$PG_IMAGE cached"; return; fi
  log "building $PG_IMAGE (apt installs inside a build container)"
  docker build -q -t "$PG_IMAGE" --build-arg "BASE=$VM_IMAGE" --build-arg "APP=$APP_IMAGE" \
    --build-arg "PACKAGES=$PG_PACKAGES" - >/dev/null <<'DOCKERFILE'
ARG BASE
ARG APP
FROM ${BASE} AS full
ARG PACKAGES
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ${PACKAGES} \
 && bin=$(echo /usr/lib/postgresql/*/bin) && lib=$(echo /usr/lib/postgresql/*/lib) \
 && rm -rf "$lib"/llvmjit* "$lib"/bitcode \
 && mkdir -p /out \
 && for f in postgres initdb pg_ctl psql pg_dump pg_restore pg_isready; do cp --parents "$bin/$f" /out/; done \
 && cp -a --parents "$lib" /usr/share/postgresql /usr/share/zoneinfo /out/ \
 && for f in "$bin"/* "$lib"/*.so; do ldd "$f" 2>/dev/null | grep -oE '/[^ ]+'; done | sort -u \
    | while read -r so; do cp -L --parents "$so" /out/; done \
 && mkdir -p /out/usr/local/bin && for f in "$bin"/*; do ln -s "$f" /out/usr/local/bin/; done
FROM ${APP}
ARG PACKAGES
LABEL berth.packages="${PACKAGES}"
COPY --from=full /out/ /
RUN echo 'postgres:x:101:101:postgres:/var/lib/postgresql:/bin/sh' >>/etc/passwd \
 && echo 'postgres:x:101:' >>/etc/group \
 && mkdir -p /var/lib/postgresql /var/run/postgresql && chown 101:101 /var/lib/postgresql /var/run/postgresql \
 && printf '%s\n' '#!/bin/sh' 'set -e' 'PGDATA=${PGDATA:-/var/lib/postgresql/data}' \
      'mkdir -p "$PGDATA" && chown postgres:postgres "$PGDATA" && chmod 0700 "$PGDATA"' \
      'if [ ! -s "$PGDATA/PG_VERSION" ]; then' \
      '  su postgres -c "initdb -D $PGDATA --auth=trust --username=postgres -E UTF8 --locale=C --no-sync >/dev/null"' \
      '  echo "host all all 0.0.0.0/0 trust" >>"$PGDATA/pg_hba.conf"' \
      '  su postgres -c "postgres --single -D $PGDATA postgres" <<SQL >/dev/null' \
      'CREATE DATABASE ${POSTGRES_DB:-app};' \
      'SQL' \
      'fi' \
      '[ "${1:-}" != init ] || exit 0' \
      'exec su postgres -c "exec postgres -D $PGDATA -c listen_addresses=* -c jit=off"' \
    >/usr/local/bin/berth-pg && chmod 0755 /usr/local/bin/berth-pg
ENV PATH=/usr/local/bin:/bin PGUSER=postgres
STOPSIGNAL SIGINT
CMD ["/usr/local/bin/berth-pg"]
DOCKERFILE
  log "built $PG_IMAGE"
}

main() {
  mkdir -p "$WORK"
  ensure_engine
  build_vm
  build_app_base
  build_vm_docker
  build_vm_ssh
  build_pg
  docker image ls --format '  {{.Repository}}:{{.Tag}}  {{.Size}}' | grep '^  berth/' >&2 || true
}

main "$@"
