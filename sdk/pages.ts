/**
 * Lists come in pages (`{data, has_more, next_cursor}`). A List fetches them as it is read:
 * `for await (const key of client.keys.list())` walks every page, `.pages()` yields the pages themselves, and
 * `.toArray()` collects every item (Array.fromAsync needs Node 22).
 */

/** The largest page the API's lists give (`limit` ≤ 100; usage alone allows 1000): walking every item, ask for it. */
export const MAX_PAGE = 100;

export interface PageBody<T> {
  object: "list";
  data: T[];
  has_more: boolean;
  next_cursor: string | null;
}

export class List<T> implements AsyncIterable<T> {
  readonly #fetchPage: (cursor: string | undefined) => Promise<PageBody<T>>;

  constructor(fetchPage: (cursor: string | undefined) => Promise<PageBody<T>>) {
    this.#fetchPage = fetchPage;
  }

  async *pages(): AsyncGenerator<PageBody<T>> {
    let cursor: string | undefined;
    do {
      const page = await this.#fetchPage(cursor);
      yield page;
      cursor = page.has_more && page.next_cursor ? page.next_cursor : undefined;
    } while (cursor !== undefined);
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T> {
    for await (const page of this.pages()) yield* page.data;
  }

  async toArray(): Promise<T[]> {
    const items: T[] = [];
    for await (const item of this) items.push(item);
    return items;
  }
}
