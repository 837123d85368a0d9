// scrypt cost for password hashes: how long one verification takes at candidate parameters, as a
// ratio against the cost release 1 shipped with (N=2^14, r=8, p=1), measured in the same run.
// Runs are interleaved round-robin so a change in the machine's load hits every candidate alike.
// Memory is scrypt's 128·N·r bytes per verification: a Worker isolate has 128 MB for everything, and
// one isolate serves concurrent logins, so a candidate must leave room for several at once.
//
//   npm run bench:scrypt            (ROUNDS=9 by default)
import { scrypt } from "node:crypto";

const CANDIDATES = [
  { N: 2 ** 14, r: 8, p: 1, note: "release 1 (baseline)" },
  { N: 2 ** 15, r: 8, p: 1 },
  { N: 2 ** 15, r: 8, p: 2 },
  { N: 2 ** 15, r: 8, p: 3 },
  { N: 2 ** 16, r: 8, p: 1 },
];
const ROUNDS = Number(process.env.ROUNDS ?? 9);
const password = "correct horse battery staple";
const salt = Buffer.alloc(16, 7);

const derive = ({ N, r, p }) =>
  new Promise((resolve, reject) =>
    scrypt(password, salt, 64, { N, r, p, maxmem: 256 * N * r + 1024 * 1024 }, (err, key) => (err ? reject(err) : resolve(key))),
  );

/** Wall time, and CPU time (all threads: scrypt runs on libuv's pool), which the shared machine's load inflates far less. */
async function timeOnce(params) {
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  await derive(params);
  const used = process.cpuUsage(cpu);
  return { wall: Number(process.hrtime.bigint() - start) / 1e6, cpu: (used.user + used.system) / 1000 };
}

const samples = CANDIDATES.map(() => ({ wall: [], cpu: [] }));
for (const params of CANDIDATES) await derive(params); // warm-up
for (let round = 0; round < ROUNDS; round++) {
  for (const [i, params] of CANDIDATES.entries()) {
    const { wall, cpu } = await timeOnce(params);
    samples[i].wall.push(wall);
    samples[i].cpu.push(cpu);
  }
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const base = { wall: median(samples[0].wall), cpu: median(samples[0].cpu) };
console.log(`scrypt, ${ROUNDS} interleaved rounds, medians per verification (load average ${(await import("node:os")).loadavg()[0].toFixed(1)})`);
console.log("N       r  p   memory    wall ms  × base    CPU ms  × base");
for (const [i, { N, r, p, note }] of CANDIDATES.entries()) {
  const wall = median(samples[i].wall);
  const cpu = median(samples[i].cpu);
  const mib = (128 * N * r) / 2 ** 20;
  console.log(
    `2^${Math.log2(N)}`.padEnd(8) + `${r}`.padEnd(3) + `${p}`.padEnd(4) + `${mib} MiB`.padEnd(10) +
      wall.toFixed(1).padStart(7) + `${(wall / base.wall).toFixed(2)}×`.padStart(8) +
      cpu.toFixed(1).padStart(10) + `${(cpu / base.cpu).toFixed(2)}×`.padStart(8) + (note ? `   ${note}` : ""),
  );
}
