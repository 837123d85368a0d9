import { describe, expect, it } from "vitest";
import { webhookUrlProblem } from "../../src/services/url-policy";

const production = { ALLOW_LOCAL_WEBHOOKS: "false" };
const localDevelopment = { ALLOW_LOCAL_WEBHOOKS: "true" };

describe("webhook URL policy", () => {
  it.each([
    "https://hooks.example.com/datasync",
    "https://hooks.example.com:8443/a?b=c",
    "https://8.8.8.8/hook",
    "https://[2606:4700:4700::1111]/hook",
    "https://example.com./hook",
  ])("accepts the public https URL %s", (url) => {
    expect(webhookUrlProblem(url, production)).toBeNull();
  });

  it.each([
    ["http://hooks.example.com/hook", "https"],
    ["ftp://hooks.example.com/hook", "https"],
    ["not a url", "absolute"],
    ["/relative/path", "absolute"],
    ["https://user:pass@hooks.example.com/", "credentials"],
    ["https://127.0.0.1/", "private"],
    ["https://127.1.2.3/", "private"],
    ["https://0x7f.1/", "private"],
    ["https://2130706433/", "private"],
    ["https://0.0.0.0/", "private"],
    ["https://10.0.0.1/", "private"],
    ["https://172.16.5.4/", "private"],
    ["https://172.31.255.255/", "private"],
    ["https://192.168.1.1/", "private"],
    ["https://169.254.169.254/latest/meta-data", "private"],
    ["https://100.64.0.1/", "private"],
    ["https://100.127.255.254/", "private"],
    ["https://224.0.0.1/", "private"],
    ["https://255.255.255.255/", "private"],
    ["https://[::1]/", "private"],
    ["https://[::]/", "private"],
    ["https://[fc00::1]/", "private"],
    ["https://[fd12:3456::1]/", "private"],
    ["https://[fe80::1]/", "private"],
    ["https://[ff02::1]/", "private"],
    ["https://[::ffff:127.0.0.1]/", "private"],
    ["https://[::ffff:8.8.8.8]/", "private"],
    ["https://[64:ff9b::10.0.0.1]/", "private"],
    ["https://[2001:db8::1]/", "private"],
    ["https://[2002:a00:1::1]/", "private"], // 6to4 of 10.0.0.1
    ["https://[2002:808:808::1]/", "private"], // 6to4 of a public address: the relay decides where it goes
    ["https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/", "private"], // Teredo
    ["https://[64:ff9b:1::a00:1]/", "private"], // local-use NAT64
    ["https://[::ffff:0:127.0.0.1]/", "private"], // IPv4-translated
    ["https://[::ffff:0:8.8.8.8]/", "private"],
    ["https://192.88.99.1/", "private"], // 6to4 relay anycast
    ["https://localhost/", "internal"],
    ["https://LOCALHOST./", "internal"],
    ["https://api.localhost/", "internal"],
    ["https://printer.local/", "internal"],
    ["https://metadata.google.internal/", "internal"],
    ["https://router.home.arpa/", "internal"],
    ["https://intranet/", "single-label"],
  ])("refuses %s (%s)", (url, reason) => {
    expect(webhookUrlProblem(url, production)).toContain(reason);
  });

  it("lets plain http reach only this machine, and only when ALLOW_LOCAL_WEBHOOKS is true", () => {
    for (const url of ["http://localhost:9000/hook", "http://127.0.0.1:9000/hook", "http://[::1]:9000/hook", "https://localhost/hook"]) {
      expect(webhookUrlProblem(url, localDevelopment)).toBeNull();
      expect(webhookUrlProblem(url, production)).not.toBeNull();
    }
    expect(webhookUrlProblem("http://10.0.0.1/hook", localDevelopment)).toContain("https");
    expect(webhookUrlProblem("http://hooks.example.com/hook", localDevelopment)).toContain("https");
    expect(webhookUrlProblem("https://10.0.0.1/hook", localDevelopment)).toContain("private");
    expect(webhookUrlProblem("http://localhost:9000/hook", {})).not.toBeNull();
    for (const url of ["http://localhost.:9000/", "http://127.0.0.2:9000/", "http://[::ffff:127.0.0.1]/", "http://0.0.0.0/", "http://api.localhost/"]) {
      expect(webhookUrlProblem(url, localDevelopment)).not.toBeNull();
    }
  });
});
