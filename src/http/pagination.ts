import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { Pagination } from "../lib/pagination";

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 200;

/** Query parameters of every paginated list; out of range (or not a number) is a 400 through the zod hook. */
export const PaginationQuerySchema = z.object({
  page: z.coerce.number().int().min(1).default(1).openapi({ param: { name: "page", in: "query" }, example: 1 }),
  pageSize: z.coerce
    .number()
    .int()
    .min(1)
    .max(MAX_PAGE_SIZE)
    .default(DEFAULT_PAGE_SIZE)
    .openapi({ param: { name: "pageSize", in: "query" }, example: DEFAULT_PAGE_SIZE }),
});


/** The response headers of a paginated list, for the `headers` of a `createRoute` response. */
export const PAGINATION_HEADERS = {
  "X-Total-Count": { description: "Number of items over all pages", schema: { type: "integer" as const } },
  Link: { description: 'RFC 8288 links to the neighbouring pages (rel="next", rel="prev")', schema: { type: "string" as const } },
};

/** Sets `X-Total-Count` and the RFC 8288 `Link` header; the links keep the request's other query parameters. */
export function setPaginationHeaders(c: Context, { page, pageSize }: Pagination, total: number): void {
  c.header("X-Total-Count", String(total));
  const link = (target: number, rel: string) => {
    const url = new URL(c.req.url);
    url.searchParams.set("page", String(target));
    url.searchParams.set("pageSize", String(pageSize));
    return `<${url.toString()}>; rel="${rel}"`;
  };
  const lastPage = Math.max(1, Math.ceil(total / pageSize));
  const links: string[] = [];
  if (page < lastPage) links.push(link(page + 1, "next"));
  if (page > 1) links.push(link(Math.min(page - 1, lastPage), "prev"));
  if (links.length > 0) c.header("Link", links.join(", "));
}
