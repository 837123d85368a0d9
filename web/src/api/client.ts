/**
 * The dashboard talks to the API only through its public endpoints, authenticated by the HttpOnly
 * session cookie (the browser adds it, and the Origin header the API checks on writes).
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

/** Called when a request comes back 401: the session is gone (expired, logged out elsewhere). */
let onUnauthorized: () => void = () => {};
export const setUnauthorizedHandler = (handler: () => void) => {
  onUnauthorized = handler;
};

async function request(path: string, init: { method?: string; body?: unknown } = {}): Promise<Response> {
  const response = await fetch(path, {
    method: init.method ?? "GET",
    credentials: "same-origin",
    headers: init.body === undefined ? { accept: "application/json" } : { accept: "application/json", "content-type": "application/json" },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  if (response.ok) return response;
  const payload = (await response.json().catch(() => null)) as { error?: string; code?: string } | null;
  const error = new ApiError(response.status, payload?.error ?? `The server answered ${response.status}.`, payload?.code);
  if (response.status === 401 && !path.startsWith("/api/auth/")) onUnauthorized();
  throw error;
}

export async function api<T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
  const response = await request(path, init);
  return (await response.json()) as T;
}

export const post = <T>(path: string, body: unknown = {}) => api<T>(path, { method: "POST", body });
export const put = <T>(path: string, body: unknown) => api<T>(path, { method: "PUT", body });
/** DELETE, with a JSON body when the API asks for proof (a password, a code). */
export const del = <T = { message: string }>(path: string, body?: unknown) => api<T>(path, { method: "DELETE", body });

export interface Page<T> {
  items: T[];
  total: number;
}

/** One page of a paginated list (`page`, `pageSize`, `X-Total-Count`). */
export async function apiPage<T>(path: string, query: Record<string, string | number | undefined>): Promise<Page<T>> {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value !== undefined && value !== "") params.set(key, String(value));
  const response = await request(`${path}?${params}`);
  const items = (await response.json()) as T[];
  return { items, total: Number(response.headers.get("x-total-count") ?? items.length) };
}
