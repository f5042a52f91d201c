import { ErrorCodes, fail, ok, type Result } from "../core/errors.ts";

/** Most items a list page holds (RabbitMQ's management API caps page_size at 500 too). */
export const MAX_PAGE_SIZE = 500;
export const DEFAULT_PAGE_SIZE = 50;

export type ListQuery = { page?: string; page_size?: string; name?: string; sort?: string; order?: "asc" | "desc" };
export type Page<T> = { items: T[]; total: number; filtered: number; page: number; page_size: number };

/** Whether the query asks for a page (RabbitMQ's rule: without paging parameters a list is the plain array). */
export const wantsPage = (q: ListQuery): boolean =>
  q.page !== undefined || q.page_size !== undefined || q.name !== undefined || q.sort !== undefined || q.order !== undefined;

/**
 * Server-side filtering, sorting and paging of a management list, so a broker with 10,000 queues
 * answers a page, not all of them. `name` is a case-insensitive substring of `nameOf` (a binding
 * has several names); `sort` is a field of the items. Sorting 10,000 views takes a few ms.
 */
export function paged<T extends Record<string, unknown>>(items: readonly T[], q: ListQuery, nameOf: (item: T) => readonly string[]): Result<Page<T>> {
  const page = q.page === undefined ? 1 : Number(q.page);
  const size = q.page_size === undefined ? DEFAULT_PAGE_SIZE : Number(q.page_size);
  if (!Number.isSafeInteger(page) || page < 1) return fail(ErrorCodes.VALIDATION, "page must be an integer of at least 1");
  if (!Number.isSafeInteger(size) || size < 1 || size > MAX_PAGE_SIZE) return fail(ErrorCodes.VALIDATION, `page_size must be an integer from 1 to ${MAX_PAGE_SIZE}`);
  let list = [...items];
  if (q.name !== undefined && q.name !== "") {
    const needle = q.name.toLowerCase();
    list = list.filter((item) => nameOf(item).some((name) => name.toLowerCase().includes(needle)));
  }
  const sort = q.sort;
  if (sort !== undefined) {
    const sample = items[0];
    const kind = sample === undefined ? undefined : typeof sample[sort];
    if (sample !== undefined && kind !== "string" && kind !== "number" && kind !== "boolean") {
      const fields = Object.keys(sample).filter((k) => ["string", "number", "boolean"].includes(typeof sample[k]));
      return fail(ErrorCodes.VALIDATION, `cannot sort by "${sort}"; sort by one of: ${fields.join(", ")}`);
    }
    const sign = q.order === "desc" ? -1 : 1;
    list.sort((a, b) => {
      const x = a[sort] as string | number | boolean;
      const y = b[sort] as string | number | boolean;
      // Ties keep name order, so pages do not shuffle between requests.
      return (x < y ? -sign : x > y ? sign : 0) || compareNames(nameOf(a)[0] ?? "", nameOf(b)[0] ?? "");
    });
  } else if (q.order === "desc") {
    list.reverse();
  }
  const start = (page - 1) * size;
  return ok({ items: list.slice(start, start + size), total: items.length, filtered: list.length, page, page_size: size });
}

const compareNames = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
