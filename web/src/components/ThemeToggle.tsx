import { useState } from "react";

const THEMES = ["system", "light", "dark"] as const;
type Theme = (typeof THEMES)[number];
const STORAGE_KEY = "datasync-theme";

const storedTheme = (): Theme => {
  const value = localStorage.getItem(STORAGE_KEY);
  return THEMES.includes(value as Theme) ? (value as Theme) : "system";
};

/** Light and dark follow the system unless the user picked one (a preference, nothing secret). */
export function applyStoredTheme(theme: Theme = storedTheme()): void {
  if (theme === "system") delete document.documentElement.dataset.theme;
  else document.documentElement.dataset.theme = theme;
}

export function ThemeToggle() {
  const [theme, setTheme] = useState(storedTheme);
  const next = THEMES[(THEMES.indexOf(theme) + 1) % THEMES.length];
  return (
    <button
      type="button"
      className="secondary"
      onClick={() => {
        localStorage.setItem(STORAGE_KEY, next);
        applyStoredTheme(next);
        setTheme(next);
      }}
      aria-label={`Theme: ${theme}. Switch to ${next}`}
    >
      Theme: {theme}
    </button>
  );
}
