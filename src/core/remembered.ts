/**
 * A pure string function remembered for up to `size` distinct inputs: names and words repeat across a library
 * (some hundreds of distinct tags), and recomputing them for every record was much of what re-tagging allocated.
 * Past `size` it starts over rather than evicting one by one.
 */
export function remembered(fn: (s: string) => string, size: number): (s: string) => string {
  let seen = new Map<string, string>();
  return (s) => {
    let out = seen.get(s);
    if (out === undefined) {
      if (seen.size >= size) seen = new Map();
      out = fn(s);
      seen.set(s, out);
    }
    return out;
  };
}
