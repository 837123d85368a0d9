/**
 * Where webhooks may point. Checked when a webhook is saved and again before every send (the rules or
 * `ALLOW_LOCAL_WEBHOOKS` may have changed since). Host names are not resolved here (a Worker cannot):
 * this policy refuses what is visibly internal in the URL itself, IP literals that tunnel to an internal
 * IPv4 address included. A public name resolving to a private address is not caught here; it is harmless
 * only because a deployed Worker's fetch leaves from Cloudflare's network, which has no route into ours.
 * (`global_fetch_strictly_public` does not block private addresses: it only sends requests for our own
 * zone through the public front door instead of straight to its origin.)
 */

/**
 * Hosts that plain http may reach, only when the Worker var `ALLOW_LOCAL_WEBHOOKS` is "true" (local
 * development): exactly these three as the URL parser prints them, nothing else on this machine.
 */
const LOCAL_DEVELOPMENT_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);

/** Reserved names that never reach a public host (RFC 6761, RFC 6762, RFC 8375, ICANN's .internal). */
const INTERNAL_SUFFIXES = [".localhost", ".local", ".internal", ".home.arpa"];

/** IPv4 ranges that are not public unicast: [network address, prefix length]. */
const NON_PUBLIC_IPV4: [string, number][] = [
  ["0.0.0.0", 8], // "this network", incl. the unspecified 0.0.0.0
  ["10.0.0.0", 8], // private
  ["100.64.0.0", 10], // carrier-grade NAT
  ["127.0.0.0", 8], // loopback
  ["169.254.0.0", 16], // link-local, incl. cloud metadata 169.254.169.254
  ["172.16.0.0", 12], // private
  ["192.0.0.0", 24], // IETF protocol assignments
  ["192.0.2.0", 24], // documentation
  ["192.88.99.0", 24], // deprecated 6to4 relay anycast: forwards to whatever IPv6 address it is given
  ["192.168.0.0", 16], // private
  ["198.18.0.0", 15], // benchmarking
  ["198.51.100.0", 24], // documentation
  ["203.0.113.0", 24], // documentation
  ["224.0.0.0", 4], // multicast
  ["240.0.0.0", 4], // reserved, incl. broadcast
];

function ipv4ToNumber(address: string): number | null {
  const parts = address.split(".");
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) return null;
  return parts.reduce((acc, p) => acc * 256 + Number(p), 0);
}

function isNonPublicIpv4(value: number): boolean {
  return NON_PUBLIC_IPV4.some(([base, bits]) => {
    const size = 2 ** (32 - bits);
    const start = ipv4ToNumber(base)!;
    return value >= start && value < start + size;
  });
}

/** The eight 16-bit groups of an IPv6 address as the URL parser prints it (compressed, maybe with a dotted tail). */
export function ipv6Groups(address: string): number[] | null {
  let text = address;
  const dotted = text.match(/^(.*:)(\d+\.\d+\.\d+\.\d+)$/);
  if (dotted) {
    const v4 = ipv4ToNumber(dotted[2]);
    if (v4 === null) return null;
    text = `${dotted[1]}${(v4 >>> 16).toString(16)}:${(v4 & 0xffff).toString(16)}`;
  }
  const [head, tail, ...rest] = text.split("::");
  if (rest.length) return null;
  const parse = (s: string) => (s ? s.split(":").map((g) => parseInt(g, 16)) : []);
  const left = parse(head);
  const right = tail === undefined ? [] : parse(tail);
  const missing = 8 - left.length - right.length;
  if (tail === undefined ? missing !== 0 : missing < 1) return null;
  const groups = [...left, ...new Array(tail === undefined ? 0 : missing).fill(0), ...right];
  return groups.some((g) => Number.isNaN(g) || g < 0 || g > 0xffff) ? null : groups;
}

function isNonPublicIpv6(groups: number[]): boolean {
  const [g0, g1, g2, g3, g4, g5, g6, g7] = groups;
  const firstFiveZero = g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0 && g4 === 0;
  const embeddedV4 = g6 * 65536 + g7;
  if (firstFiveZero && g5 === 0) return true; // ::, ::1 and the deprecated IPv4-compatible ::a.b.c.d
  if (firstFiveZero && g5 === 0xffff) return true; // IPv4-mapped ::ffff:a.b.c.d reaches IPv4 directly
  if (g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0 && g4 === 0xffff && g5 === 0) return true; // IPv4-translated ::ffff:0:a.b.c.d (SIIT)
  if (g0 === 0x64 && g1 === 0xff9b && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0) return isNonPublicIpv4(embeddedV4); // NAT64
  if (g0 === 0x64 && g1 === 0xff9b && g2 === 1) return true; // local-use NAT64 64:ff9b:1::/48 translates into private networks
  if (g0 === 0x2002) return true; // 6to4 2002::/16 carries an IPv4 address (any, private ones too) in its next 32 bits
  if (g0 === 0x2001 && g1 === 0) return true; // Teredo 2001::/32 tunnels to an (obfuscated) IPv4 address
  if ((g0 & 0xfe00) === 0xfc00) return true; // unique local fc00::/7
  if ((g0 & 0xffc0) === 0xfe80) return true; // link-local fe80::/10
  if ((g0 & 0xffc0) === 0xfec0) return true; // deprecated site-local fec0::/10
  if ((g0 & 0xff00) === 0xff00) return true; // multicast ff00::/8
  if (g0 === 0x2001 && g1 === 0x0db8) return true; // documentation 2001:db8::/32
  if (g0 === 0x0100 && g1 === 0 && g2 === 0 && g3 === 0) return true; // discard-only 100::/64
  return false;
}

/**
 * Why `rawUrl` may not receive webhooks, or null when it may. `env` only needs `ALLOW_LOCAL_WEBHOOKS`,
 * so callers (and tests) can pass any object carrying it.
 */
export function webhookUrlProblem(rawUrl: string, env: { ALLOW_LOCAL_WEBHOOKS?: string }): string | null {
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    return "url must be an absolute https URL.";
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return "url must use https.";
  if (url.username || url.password) return "url must not contain credentials.";

  // The WHATWG parser already lower-cases names and normalises IPv4 spellings (0x7f.1, 2130706433 …) to dotted quads.
  if (LOCAL_DEVELOPMENT_HOSTS.has(url.hostname) && env.ALLOW_LOCAL_WEBHOOKS === "true") return null;
  const host = url.hostname.replace(/\.$/, "");
  if (url.protocol !== "https:") return "url must use https.";

  if (host.startsWith("[")) {
    const groups = ipv6Groups(host.slice(1, -1));
    if (!groups || isNonPublicIpv6(groups)) return "url must not point to a private, loopback or link-local address.";
    return null;
  }
  const v4 = ipv4ToNumber(host);
  if (v4 !== null) {
    return isNonPublicIpv4(v4) ? "url must not point to a private, loopback or link-local address." : null;
  }
  if (host === "localhost" || INTERNAL_SUFFIXES.some((suffix) => host.endsWith(suffix))) {
    return "url must not point to an internal host name.";
  }
  if (!host.includes(".")) return "url must name a public host (a single-label name is internal).";
  return null;
}
