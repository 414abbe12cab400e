/** One thing the user asked for: a file, a URL, or a row of a list. */
export interface InputItem {
  /** Identity in the acquisition log: the absolute path, or the URL as given. */
  key: string;
  /** As the user wrote it, for messages. */
  raw: string;
  kind: 'local' | 'url';
  /** Absolute path for local inputs. */
  path?: string;
  /** URL for remote inputs. */
  url?: string;
  /** Labelled-list fields (Kinetics-style CSV). */
  list?: { file: string; label?: string; split?: string; start?: number; end?: number; row?: number };
  /**
   * A list row queued (`enqueue`) with other rows that cut clips out of the same video: `rows` of them, together a
   * `group`. The worker that fetches the whole video first keeps it in the media folder until the rows of the group
   * have all cut their clip, so it is fetched once for them, whichever worker (or machine sharing the folder) takes
   * each. `process` shares it within its run and sets no such field.
   */
  shared?: { group: string; rows: number };
}
