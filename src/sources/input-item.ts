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
}
