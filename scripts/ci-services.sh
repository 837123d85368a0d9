#!/usr/bin/env bash
# What the agent's Node test suite (npm run test:agent) needs besides node_modules: PostgreSQL and
# MariaDB answering on 127.0.0.1 (postgres / root, no password), their client tools, mariadb-backup,
# sshd + ssh-keygen for the SFTP test, curl for the install test, and Chromium for the dashboard's
# browser tests (npm run test:browser). Machines of this project's kind come with the servers running;
# a fresh Debian machine gets them from apt here. Idempotent: fast when all is in place.
set -euo pipefail

log() { echo "ci-services: $*"; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
command -v psql >/dev/null && command -v pg_dump >/dev/null && command -v pg_restore >/dev/null || missing+=(postgresql-client)
ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || missing+=(postgresql)
{ command -v mariadb >/dev/null || command -v mysql >/dev/null; } && { command -v mariadb-dump >/dev/null || command -v mysqldump >/dev/null; } || missing+=(mariadb-client)
[ -x /usr/sbin/mariadbd ] || [ -x /usr/sbin/mysqld ] || missing+=(mariadb-server)
[ -x /usr/sbin/sshd ] && command -v ssh-keygen >/dev/null || missing+=(openssh-server openssh-client)
# Physical backup chains (agent/test/chain.test.ts): mariadb-backup, mariadb-binlog, pg_basebackup,
# pg_receivewal and tar; the tests start their own MariaDB (log_bin) and PostgreSQL (WAL streaming).
{ command -v mariadb-backup >/dev/null || command -v mariabackup >/dev/null; } || missing+=(mariadb-backup)
{ command -v mariadb-binlog >/dev/null || command -v mysqlbinlog >/dev/null; } || missing+=(mariadb-client)
command -v pg_basebackup >/dev/null && command -v pg_receivewal >/dev/null || missing+=(postgresql-client)
command -v mariadb-install-db >/dev/null || missing+=(mariadb-server)
command -v tar >/dev/null || missing+=(tar)
# The install test pipes the served install script from curl, as the README's command does.
command -v curl >/dev/null || missing+=(curl ca-certificates)
# The dashboard's browser tests (npm run test:browser) drive Debian's Chromium through playwright-core.
[ -x /usr/bin/chromium ] || missing+=(chromium)
if [ "${#missing[@]}" -gt 0 ]; then
  log "installing ${missing[*]}"
  as_root apt-get update -q
  # One package may be named twice (two missing tools): apt does not mind.
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

wait_for() { # name, command...
  local name=$1; shift
  for _ in $(seq 1 60); do "$@" >/dev/null 2>&1 && return 0; sleep 1; done
  log "$name did not come up"; return 1
}

# PostgreSQL on 127.0.0.1:5432, user postgres without a password.
if ! pg_isready -h 127.0.0.1 -p 5432 -q; then
  log "starting PostgreSQL"
  as_root pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main start
  wait_for PostgreSQL pg_isready -h 127.0.0.1 -p 5432 -q
fi
if ! psql -h 127.0.0.1 -U postgres -d postgres -X -A -t -c "SELECT 1" >/dev/null 2>&1; then
  # Debian's default asks TCP clients for a password; the tests' throwaway cluster trusts loopback.
  hba=$(ls /etc/postgresql/*/main/pg_hba.conf | sort -V | tail -1)
  log "trusting loopback connections in $hba"
  as_root sed -i '1i host all all 127.0.0.1/32 trust' "$hba"
  as_root pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main reload
  wait_for "PostgreSQL login" psql -h 127.0.0.1 -U postgres -d postgres -X -c "SELECT 1"
fi

# MariaDB on 127.0.0.1:3306, root without a password.
client=$(command -v mariadb || command -v mysql)
if ! "$client" -h 127.0.0.1 -P 3306 --protocol=TCP -u root -e "SELECT 1" >/dev/null 2>&1; then
  if ! "$client" -u root -e "SELECT 1" >/dev/null 2>&1; then
    log "starting MariaDB"
    as_root mkdir -p /run/mysqld && as_root chown mysql:mysql /run/mysqld 2>/dev/null || true
    as_root start-stop-daemon --start --oknodo --background --exec "$( [ -x /usr/sbin/mariadbd ] && echo /usr/sbin/mariadbd || echo /usr/sbin/mysqld )"
    wait_for MariaDB as_root "$client" -u root -e "SELECT 1"
  fi
  if ! "$client" -h 127.0.0.1 -P 3306 --protocol=TCP -u root -e "SELECT 1" >/dev/null 2>&1; then
    # Debian's root logs in through the unix socket only; allow an empty password too.
    log "allowing root over TCP without a password"
    as_root "$client" -u root -e "ALTER USER 'root'@'localhost' IDENTIFIED VIA unix_socket OR mysql_native_password USING PASSWORD('')"
  fi
  wait_for "MariaDB over TCP" "$client" -h 127.0.0.1 -P 3306 --protocol=TCP -u root -e "SELECT 1"
fi

log "PostgreSQL, MariaDB, sshd and Chromium are ready"
