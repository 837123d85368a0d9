/**
 * The agent release this platform serves: its version (the agent's own constant, so the served tarball
 * built from the same tree has this version), whether an agent should update, and the install script.
 */
import { AGENT_VERSION } from "../../agent/src/version";

export const CURRENT_AGENT_VERSION = AGENT_VERSION;

/** `major.minor.patch` with an optional pre-release; anything else is not compared. */
const SEMVER = /^v?(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/;

/** True when `reported` is an older release than the served one (a version we cannot read: false). */
export function isUpdateAvailable(reported: string, current: string = CURRENT_AGENT_VERSION): boolean {
  const a = SEMVER.exec(reported.trim());
  const b = SEMVER.exec(current);
  if (!a || !b) return false;
  for (let i = 1; i <= 3; i++) {
    if (Number(a[i]) !== Number(b[i])) return Number(a[i]) < Number(b[i]);
  }
  // 1.2.0-beta comes before 1.2.0.
  if (a[4] && !b[4]) return true;
  if (!a[4] || !b[4]) return false;
  return a[4].localeCompare(b[4], "en", { numeric: true }) < 0;
}

/** The one command that installs, enrolls and starts an agent (what the dashboard's install page shows). */
export function installCommand(origin: string, registrationToken: string): string {
  return `curl -fsSL ${origin}/install.sh | sh -s -- --token ${registrationToken}`;
}

/**
 * `curl -fsSL <origin>/install.sh | sh -s -- --token ds_reg_…`: checks Node.js, installs the npm package
 * this origin serves after checking its SHA-256, enrolls, installs the service. POSIX sh; written
 * without `${…}` so it can live in this template.
 */
export function installScript(origin: string, version: string = CURRENT_AGENT_VERSION): string {
  if (/['\s]/.test(origin) || /['\s]/.test(version)) throw new Error("origin and version must not contain quotes or spaces");
  return String.raw`#!/bin/sh
# DataSync agent installer for datasync-agent ${version}, served by ${origin}.
#
#   curl -fsSL ${origin}/install.sh | sh -s -- --token ds_reg_...
#
# Checks for Node.js 22, installs the agent's npm package from ${origin}/downloads/ after checking its
# SHA-256, enrolls this machine with the registration token and installs the systemd service (as root).
# Options (or environment variables):
#   --token TOKEN    registration token (DATASYNC_REGISTRATION_TOKEN); a bare ds_reg_... works too
#   --name NAME      display name on the platform (DATASYNC_AGENT_NAME)
#   --prefix DIR     npm global prefix to install into (NPM_CONFIG_PREFIX)
#   --state-dir DIR  the agent's state (DATASYNC_AGENT_STATE_DIR; as root with the service: /var/lib/datasync-agent)
#   --no-service     do not install the service (DATASYNC_NO_SERVICE=1)
#   --server URL     the platform (DATASYNC_SERVER; default ${origin})
set -e

server=$DATASYNC_SERVER
[ -n "$server" ] || server='${origin}'
package='datasync-agent-${version}.tgz'
token=$DATASYNC_REGISTRATION_TOKEN
name=$DATASYNC_AGENT_NAME
prefix=$NPM_CONFIG_PREFIX
state_dir=$DATASYNC_AGENT_STATE_DIR
service=yes
if [ "$DATASYNC_NO_SERVICE" = 1 ]; then service=no; fi

say() { echo "datasync-agent install: $*"; }
fail() { echo "datasync-agent install: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
  case "$1" in
    --token|--name|--prefix|--state-dir|--server)
      [ $# -ge 2 ] || fail "$1 needs a value."
      case "$1" in
        --token) token=$2 ;;
        --name) name=$2 ;;
        --prefix) prefix=$2 ;;
        --state-dir) state_dir=$2 ;;
        --server) server=$2 ;;
      esac
      shift 2 ;;
    --no-service) service=no; shift ;;
    ds_reg_*) token=$1; shift ;;
    -h|--help) echo "Usage: curl -fsSL ${origin}/install.sh | sh -s -- --token ds_reg_... [--name NAME] [--prefix DIR] [--state-dir DIR] [--no-service]"; exit 0 ;;
    *) fail "unknown option $1 (see --help)." ;;
  esac
done

[ -n "$token" ] || fail "no registration token. Create one in the dashboard (Agents, Install an agent) or with POST $server/api/agent/registration-token, then pass --token ds_reg_..."

need_node() {
  cat >&2 <<EOF
datasync-agent install: Node.js 22.16 or newer is required ($1).
Install it, then run this command again:
  Debian/Ubuntu:  curl -fsSL https://deb.nodesource.com/setup_22.x | sudo -E bash - && sudo apt-get install -y nodejs
  RHEL/Fedora:    curl -fsSL https://rpm.nodesource.com/setup_22.x | sudo bash - && sudo dnf install -y nodejs
  Any system:     https://nodejs.org/en/download (or nvm install 22)
EOF
  exit 1
}
command -v node >/dev/null 2>&1 || need_node "node is not on PATH"
node -e 'const [major, minor] = process.versions.node.split(".").map(Number); process.exit(major > 22 || (major === 22 && minor >= 16) ? 0 : 1)' || need_node "found $(node --version)"
command -v npm >/dev/null 2>&1 || fail "npm (part of Node.js) is not on PATH."

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
download() {
  if command -v curl >/dev/null 2>&1; then curl -fsSL "$1" -o "$2"
  elif command -v wget >/dev/null 2>&1; then wget -q -O "$2" "$1"
  else node -e 'fetch(process.argv[1]).then(async (r) => { if (!r.ok) throw new Error("HTTP " + r.status); require("fs").writeFileSync(process.argv[2], Buffer.from(await r.arrayBuffer())); })' "$1" "$2"
  fi
}
say "downloading $server/downloads/$package"
download "$server/downloads/$package" "$work/$package" || fail "cannot download $server/downloads/$package."
download "$server/downloads/$package.sha256" "$work/$package.sha256" || fail "cannot download $server/downloads/$package.sha256."
expected=$(cut -d ' ' -f 1 "$work/$package.sha256")
actual=$(node -e 'process.stdout.write(require("crypto").createHash("sha256").update(require("fs").readFileSync(process.argv[1])).digest("hex"))' "$work/$package")
[ "$actual" = "$expected" ] || fail "SHA-256 of $package is $actual, but $server publishes $expected. Nothing was installed."
say "SHA-256 $actual checked"

if [ -n "$prefix" ]; then
  npm install --global --prefix "$prefix" --no-audit --no-fund --loglevel=error "$work/$package"
else
  npm install --global --no-audit --no-fund --loglevel=error "$work/$package"
  prefix=$(npm prefix --global)
fi
agent="$prefix/bin/datasync-agent"
[ -x "$agent" ] || fail "npm did not install $agent."
say "installed $("$agent" --version) as $agent"

root=no
if [ "$(id -u)" = 0 ]; then root=yes; fi
if [ "$service" = yes ] && [ "$root" = yes ] && [ -z "$state_dir" ]; then state_dir=/var/lib/datasync-agent; fi

set -- enroll --server "$server" --token "$token"
if [ -n "$name" ]; then set -- "$@" --name "$name"; fi
if [ -n "$state_dir" ]; then set -- "$@" --state-dir "$state_dir"; fi
"$agent" "$@"

status="$agent status"
if [ -n "$state_dir" ]; then status="$status --state-dir $state_dir"; fi
if [ "$service" = yes ] && { [ "$root" = yes ] || [ -n "$DATASYNC_AGENT_UNIT_DIR" ]; }; then
  set -- install-service
  if [ -n "$state_dir" ]; then set -- "$@" --state-dir "$state_dir"; fi
  "$agent" "$@"
elif [ "$service" = yes ]; then
  say "not root, so no system service was installed: start the agent with '$agent run', or run this installer again as root."
fi
say "done. See the agent with: $status"
`;
}
