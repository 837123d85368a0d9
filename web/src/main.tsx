import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { ApiError } from "./api/client";
import { App } from "./App";
import { applyStoredTheme } from "./components/ThemeToggle";
import "./styles.css";

applyStoredTheme();

const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      // Pages shown again within 10 s use what they have: the plan's rate limit (60 a minute on Free)
      // counts the dashboard's requests too. Live events and the dashboard's own changes invalidate at once.
      staleTime: 10_000,
      // A 4xx will not get better by asking again; network hiccups might.
      retry: (count, error) => !(error instanceof ApiError && error.status < 500) && count < 2,
      refetchOnWindowFocus: true,
    },
  },
});

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <QueryClientProvider client={queryClient}>
      <App />
    </QueryClientProvider>
  </StrictMode>,
);
