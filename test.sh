#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs the database and SSH servers the tests start
# on 127.0.0.1 (PostgreSQL 15, MariaDB, Redis, OpenSSH; only those missing, with apt-get), then
# runs `cargo test --locked`. The tests start and stop their own servers; none is left running
# and no system service is enabled. Extra arguments go to cargo test.
set -euo pipefail
cd "$(dirname "$0")"

missing=()
[ -x /usr/lib/postgresql/15/bin/postgres ] || missing+=(postgresql-15)
command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ] || missing+=(mariadb-server)
command -v redis-server >/dev/null 2>&1 || [ -x /usr/bin/redis-server ] || missing+=(redis-server)
[ -x /usr/sbin/sshd ] || missing+=(openssh-server)

if ((${#missing[@]})); then
  echo "test.sh: installing ${missing[*]}" >&2
  if [ "$(id -u)" -ne 0 ]; then
    sudo=sudo
  else
    sudo=
  fi
  # policy-rc.d 101: install the packages without starting their system services; the tests
  # run their own servers on private ports.
  policy=/usr/sbin/policy-rc.d
  made_policy=
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
    $sudo chmod +x "$policy"
    made_policy=1
  fi
  status=0
  { $sudo apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
      "${missing[@]}" >/dev/null; } || status=$?
  [ -z "$made_policy" ] || $sudo rm -f "$policy"
  if [ "$status" -ne 0 ]; then
    echo "test.sh: could not install ${missing[*]} (apt-get exit $status)" >&2
    exit "$status"
  fi
fi

exec cargo test --locked "$@"
