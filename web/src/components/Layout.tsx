import { type ReactNode, useEffect, useRef } from "react";
import { Link, useLocation } from "wouter";
import { useLiveFeed } from "../api/live";
import { useSessionActions } from "../api/session";
import type { Account } from "../api/types";
import { ThemeToggle } from "./ThemeToggle";

/** The main navigation; these link names are stable (API.md), tests and users rely on them. */
const NAV = [
  ["/", "Overview"],
  ["/agents", "Agents"],
  ["/jobs", "Backup jobs"],
  ["/destinations", "Destinations"],
  ["/credentials", "Credentials"],
  ["/files", "Backup files"],
  ["/logs", "Logs"],
  ["/webhooks", "Webhooks"],
  ["/api-keys", "API keys"],
  ["/account", "Account"],
  ["/bug-reports", "Bug reports"],
] as const;

const isCurrent = (href: string, location: string) => (href === "/" ? location === "/" : location === href || location.startsWith(`${href}/`));

export function Layout({ account, children }: { account: Account; children: ReactNode }) {
  const [location, navigate] = useLocation();
  const live = useLiveFeed();
  const { logOut } = useSessionActions();
  const main = useRef<HTMLElement>(null);

  // After a client-side navigation, move focus to the new page (as a full page load would). Not on the
  // first render: a page load itself starts at the top, where the skip link is the first stop.
  const navigated = useRef(false);
  useEffect(() => {
    if (navigated.current) main.current?.focus({ preventScroll: true });
    navigated.current = true;
  }, [location]);

  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="top">
        <Link href="/" className="brand">
          DataSync
        </Link>
        <span className={`live ${live}`} title="Agent presence and backup progress arrive without reloading">
          {live === "live" ? "Live" : live === "connecting" ? "Connecting…" : "Reconnecting…"}
        </span>
        <span className="who muted">
          {account.forename} · {account.organisationName ?? account.email} · {account.plan}
        </span>
        <ThemeToggle />
        <button
          type="button"
          className="secondary"
          onClick={async () => {
            await logOut();
            navigate("/login");
          }}
        >
          Log out
        </button>
      </header>
      <nav className="main-nav" aria-label="Main">
        <ul>
          {NAV.map(([href, label]) => (
            <li key={href}>
              <Link href={href} aria-current={isCurrent(href, location) ? "page" : undefined}>
                {label}
              </Link>
            </li>
          ))}
        </ul>
      </nav>
      <main id="main" ref={main} tabIndex={-1}>
        {children}
      </main>
    </>
  );
}
