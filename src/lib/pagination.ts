/** The one page request every paginated service takes (the HTTP query schema is in src/http/pagination.ts). */
export interface Pagination {
  page: number;
  pageSize: number;
}

/** For `.limit(pageSize).offset(pageOffset(p))`. */
export const pageOffset = ({ page, pageSize }: Pagination) => (page - 1) * pageSize;
