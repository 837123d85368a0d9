/**
 * The dashboard talks to the API only through its public endpoints, authenticated by the HttpOnly
 * session cookie (the browser adds it, and the Origin header the API checks on writes).
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code?: string,
    /** A 400 `validation_failed` lists each invalid field: `path` is the field's name in the body. */
    readonly details: { path: string; message: string }[] = [],
  ) {
    super(message);
  }

  /** The API's message about one field of the request body, if it named that field. */
  detail(path: string): string | undefined {
    return this.details.find((d) => d.path === path)?.message;
  }
}

/** Called when a request comes back 401: the session is gone (expired, logged out elsewhere). */
let onUnauthorized: () => void = () => {};
export const setUnauthorizedHandler = (handler: () => void) => {
  onUnauthorized = handler;
};

/**
 * D1 read replication: the newest `x-d1-bookmark` the API returned, sent back with every request so a
 * read never comes from a replica older than this tab's own writes. Kept for the tab (sessionStorage:
 * a reload right after a write still reads it); not a secret. D1 bookmarks are zero-padded hex groups,
 * so the newer one sorts last.
 */
const BOOKMARK_HEADER = "x-d1-bookmark";
let bookmark = sessionStorage.getItem(BOOKMARK_HEADER);

function keepBookmark(response: Response) {
  const received = response.headers.get(BOOKMARK_HEADER);
  if (!received || (bookmark && received <= bookmark)) return;
  bookmark = received;
  sessionStorage.setItem(BOOKMARK_HEADER, received);
}

async function request(path: string, init: { method?: string; body?: unknown } = {}): Promise<Response> {
  const headers: Record<string, string> = { accept: "application/json" };
  if (init.body !== undefined) headers["content-type"] = "application/json";
  if (bookmark) headers[BOOKMARK_HEADER] = bookmark;
  const response = await fetch(path, {
    method: init.method ?? "GET",
    credentials: "same-origin",
    headers,
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  keepBookmark(response);
  if (response.ok) return response;
  const payload = (await response.json().catch(() => null)) as { error?: string; code?: string; details?: ApiError["details"] } | null;
  const error = new ApiError(response.status, payload?.error ?? `The server answered ${response.status}.`, payload?.code, payload?.details);
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
